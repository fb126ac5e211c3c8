// The study report as a PDF: the same blocks as the HTML report (report.ts, studyReportBlocks), laid
// out with pdfkit under plain Node (no Electron printing); the SVG plots stay vector graphics through
// svg-to-pdfkit. The standard Helvetica font needs no font file: text is mapped to its WinAnsi set.
import PDFDocument from 'pdfkit';
import SVGtoPDF from 'svg-to-pdfkit';
import type { StudyStatistics } from './results.ts';
import { type ReportBlock, type ReportOptions, studyReportBlocks } from './report.ts';
import type { StudyDetails, StudyResults } from './types.ts';

const MARGIN = 48;
const FONT = 'Helvetica';
const BOLD = 'Helvetica-Bold';
const CELL_PAD = 3;

/** Characters outside WinAnsi (the standard fonts' encoding) written as their nearest ASCII. */
const REPLACEMENTS: Record<string, string> = {
  '\u2212': '-',
  '\u2010': '-',
  '\u2011': '-',
  '\u2264': '<=',
  '\u2265': '>=',
  '\u2248': '~',
  '\u00d7': 'x',
  '\u03b1': 'alpha',
  '\u03ba': 'kappa',
  '\u221a': 'sqrt',
  '\u00b1': '+/-',
};
const WIN_ANSI_EXTRA = new Set('€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ');

export function pdfText(text: string): string {
  let out = '';
  for (const ch of text.normalize('NFC')) {
    const code = ch.codePointAt(0)!;
    if (REPLACEMENTS[ch] !== undefined) out += REPLACEMENTS[ch];
    else if ((code >= 0x20 && code <= 0x7e) || (code >= 0xa0 && code <= 0xff) || WIN_ANSI_EXTRA.has(ch))
      out += ch;
    else if (ch === '\n' || ch === '\t') out += ' ';
    else out += '?';
  }
  return out;
}

/** The SVG's own size (width/height attributes, else its viewBox). */
function svgSize(svg: string): { width: number; height: number } {
  const attr = (name: string) => Number(new RegExp(`<svg[^>]*\\s${name}="([0-9.]+)`).exec(svg)?.[1]);
  const width = attr('width');
  const height = attr('height');
  if (width > 0 && height > 0) return { width, height };
  const box = /viewBox="[-0-9.]+ [-0-9.]+ ([0-9.]+) ([0-9.]+)"/.exec(svg);
  return box ? { width: Number(box[1]), height: Number(box[2]) } : { width: 640, height: 360 };
}

function layout(doc: PDFKit.PDFDocument, blocks: ReportBlock[]): void {
  const width = doc.page.width - 2 * MARGIN;
  const bottom = () => doc.page.height - MARGIN;
  const ensure = (height: number) => {
    if (doc.y + height > bottom()) doc.addPage();
  };
  const heading = (text: string, size: number, gapBefore: number) => {
    doc.font(BOLD).fontSize(size);
    // Keep a heading with at least a few lines of what follows it.
    ensure(doc.heightOfString(pdfText(text), { width }) + gapBefore + 60);
    doc.y += gapBefore;
    doc.text(pdfText(text), MARGIN, doc.y, { width });
    doc.y += 4;
  };
  for (const block of blocks) {
    switch (block.kind) {
      case 'h1':
        heading(block.text, 18, 0);
        break;
      case 'h2':
        heading(block.text, 13.5, 10);
        break;
      case 'h3':
        heading(block.text, 11, 6);
        break;
      case 'p':
      case 'method': {
        doc
          .font(FONT)
          .fontSize(block.kind === 'p' ? 9.5 : 8.5)
          .fillColor(block.kind === 'p' ? '#111' : '#444');
        const text = pdfText(block.text);
        ensure(Math.min(doc.heightOfString(text, { width }), 40));
        doc.text(text, MARGIN, doc.y, { width });
        doc.fillColor('#111');
        doc.y += 6;
        break;
      }
      case 'table':
        drawTable(doc, block.head, block.rows, width, ensure);
        break;
      case 'svg': {
        const size = svgSize(block.svg);
        const scale = Math.min(1, width / size.width, (bottom() - MARGIN) / size.height);
        const w = size.width * scale;
        const h = size.height * scale;
        ensure(h + 8);
        const svgText = block.svg.replace(/[\u2212\u2010\u2011]/g, '-');
        SVGtoPDF(doc, svgText, MARGIN, doc.y, {
          width: w,
          height: h,
          fontCallback: (_family: string, bold: boolean) => (bold ? BOLD : FONT),
        });
        doc.x = MARGIN;
        doc.y += h + 8;
        break;
      }
    }
  }
}

function drawTable(
  doc: PDFKit.PDFDocument,
  head: string[],
  rows: string[][],
  width: number,
  ensure: (height: number) => void,
): void {
  const size = head.length > 6 ? 7.5 : 8.5;
  doc.fontSize(size);
  // Column widths follow the longest word and the total text of each column.
  // A word too long for any cell (a SHA-256) is cut into groups of 16 characters that can wrap.
  const breakable = (text: string) =>
    text.replace(/\S{25,}/g, (word) => word.match(/.{1,16}/g)!.join(' '));
  const cells = [head, ...rows].map((r) => r.map((c) => breakable(pdfText(c))));
  const need = head.map((_, c) => {
    const body = cells.slice(1).map((r) => r[c] ?? '');
    doc.font(BOLD);
    const headText = cells[0]![c] ?? '';
    const headWord = Math.max(...headText.split(/\s+/).map((w) => doc.widthOfString(w)), 10);
    const headFull = doc.widthOfString(headText);
    doc.font(FONT);
    // A very long word (a SHA-256) may wrap inside itself rather than squeeze the other columns.
    const bodyWord = Math.min(
      Math.max(...body.flatMap((t) => t.split(/\s+/)).map((w) => doc.widthOfString(w)), 0),
      width * 0.3,
    );
    const full = Math.max(headFull, ...body.map((t) => doc.widthOfString(t)));
    return { min: Math.max(headWord, bodyWord) + 2 * CELL_PAD, full: full + 2 * CELL_PAD };
  });
  const fullTotal = need.reduce((s, n) => s + n.full, 0);
  let widths = need.map((n) => n.full);
  if (fullTotal > width) {
    const minTotal = need.reduce((s, n) => s + n.min, 0);
    const spare = Math.max(0, width - minTotal);
    const extra = need.reduce((s, n) => s + (n.full - n.min), 0) || 1;
    widths = need.map((n) => Math.min(n.full, n.min + (spare * (n.full - n.min)) / extra));
    const total = widths.reduce((s, w) => s + w, 0);
    if (total > width) widths = widths.map((w) => (w * width) / total);
  }
  const drawRow = (row: string[], bold: boolean) => {
    doc.font(bold ? BOLD : FONT).fontSize(size);
    const height =
      Math.max(...row.map((t, c) => doc.heightOfString(t, { width: widths[c]! - 2 * CELL_PAD }))) +
      2 * CELL_PAD;
    ensure(height);
    let x = MARGIN;
    const y = doc.y;
    row.forEach((text, c) => {
      const w = widths[c]!;
      if (bold) doc.rect(x, y, w, height).fill('#eeeeee').fillColor('#111');
      doc.rect(x, y, w, height).lineWidth(0.5).stroke('#999999');
      doc.fillColor('#111').text(text, x + CELL_PAD, y + CELL_PAD, { width: w - 2 * CELL_PAD });
      x += w;
    });
    doc.x = MARGIN;
    doc.y = y + height;
  };
  const [headRow, ...bodyRows] = cells;
  drawRow(headRow!, true);
  for (const row of bodyRows) {
    // A table that runs onto a new page repeats its head there.
    doc.font(FONT).fontSize(size);
    const height =
      Math.max(...row.map((t, c) => doc.heightOfString(t, { width: widths[c]! - 2 * CELL_PAD }))) +
      2 * CELL_PAD;
    if (doc.y + height > doc.page.height - MARGIN) {
      doc.addPage();
      drawRow(headRow!, true);
    }
    drawRow(row, false);
  }
  doc.y += 8;
}

/** The study report (the HTML report's content) as a PDF file's bytes. */
export function studyReportPdf(
  details: StudyDetails | null,
  results: StudyResults | (StudyStatistics & { generatedAt?: string }),
  options: ReportOptions & { title?: string } = {},
): Promise<Buffer> {
  const title = options.title ?? details?.name ?? 'Reader study';
  const blocks = studyReportBlocks(details, results, title, options);
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({
      size: 'A4',
      margin: MARGIN,
      bufferPages: true,
      info: { Title: pdfText(`${title}: reader study report`), Creator: 'R2C Workstation' },
    });
    const chunks: Buffer[] = [];
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
    try {
      layout(doc, blocks);
      // Page numbers, so a printed copy can be checked for completeness.
      const range = doc.bufferedPageRange();
      for (let i = range.start; i < range.start + range.count; i++) {
        doc.switchToPage(i);
        // The footer sits in the bottom margin: no margin while writing it, or pdfkit adds a page.
        doc.page.margins.bottom = 0;
        doc
          .font(FONT)
          .fontSize(7.5)
          .fillColor('#666')
          .text(
            `${pdfText(title)} - page ${i + 1} of ${range.count}`,
            MARGIN,
            doc.page.height - MARGIN + 14,
            {
              width: doc.page.width - 2 * MARGIN,
              align: 'right',
              lineBreak: false,
            },
          );
      }
      doc.end();
    } catch (error) {
      reject(error);
    }
  });
}
