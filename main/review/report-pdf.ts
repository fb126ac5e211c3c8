// The study report as a PDF: the same blocks as the HTML report (report.ts, studyReportBlocks), laid
// out with pdfkit under plain Node (no Electron printing); the SVG plots stay vector graphics through
// svg-to-pdfkit. Text is set in the embedded Noto Sans SC subsets (pdf-fonts.ts) so names in any
// Latin, Cyrillic or CJK script print as written.
import PDFDocument from 'pdfkit';
import SVGtoPDF from 'svg-to-pdfkit';
import { escapeXml } from '../util/svg.ts';
import { type FontFace, faceBytes, fontFaces, pdfText, textRuns } from './pdf-fonts.ts';
import type { StudyStatistics } from './results.ts';
import { type ReportBlock, type ReportOptions, studyReportBlocks } from './report.ts';
import type { StudyDetails, StudyResults } from './types.ts';

export { pdfText } from './pdf-fonts.ts';

const MARGIN = 48;
const CELL_PAD = 3;

/**
 * Writes and measures text in runs of font subsets. One run (all Latin, the usual case) uses pdfkit's
 * own measuring and wrapping; mixed runs are written as continued text and measured by a greedy wrap.
 */
class RunWriter {
  private readonly registered = new Set<string>();
  bold = false;

  constructor(private readonly doc: PDFKit.PDFDocument) {}

  use(face: FontFace): PDFKit.PDFDocument {
    if (!this.registered.has(face.key)) {
      this.doc.registerFont(face.key, faceBytes(face));
      this.registered.add(face.key);
    }
    return this.doc.font(face.key);
  }

  /** Regular or bold (the size is kept). */
  font(bold: boolean): this {
    this.bold = bold;
    this.use(fontFaces(bold ? 700 : 400)[0]!);
    return this;
  }

  runs(text: string) {
    return textRuns(text, this.bold);
  }

  width(text: string): number {
    return this.runs(text).reduce((s, r) => s + this.use(r.face).widthOfString(r.text), 0);
  }

  height(text: string, options: { width: number }): number {
    const runs = this.runs(text);
    if (runs.length <= 1)
      return this.use(runs[0]?.face ?? fontFaces(this.bold ? 700 : 400)[0]!).heightOfString(text, options);
    const lineHeight = Math.max(...runs.map((r) => this.use(r.face).currentLineHeight(true)));
    const space = this.width(' ');
    let lines = 1;
    let used = 0;
    for (const word of text.split(' ')) {
      const w = this.width(word);
      const needed = used === 0 ? w : used + space + w;
      if (needed <= options.width) used = needed;
      else if (w <= options.width) {
        lines++;
        used = w;
      } else {
        // A word wider than the column (CJK has no spaces): it breaks between characters.
        lines += Math.ceil(w / options.width) - (used === 0 ? 1 : 0);
        used = w % options.width;
      }
    }
    return lines * lineHeight;
  }

  text(text: string, x: number, y: number, options: PDFKit.Mixins.TextOptions): void {
    const runs = this.runs(text);
    if (runs.length <= 1) {
      this.use(runs[0]?.face ?? fontFaces(this.bold ? 700 : 400)[0]!).text(text, x, y, options);
      return;
    }
    runs.forEach((run, i) => {
      const last = i === runs.length - 1;
      const doc = this.use(run.face);
      if (i === 0) doc.text(run.text, x, y, { ...options, continued: true });
      else doc.text(run.text, { continued: !last });
    });
  }

  /** One line, right-aligned at `right`, never wrapped (the page footer). */
  lineRight(text: string, right: number, y: number): void {
    let x = right - this.width(text);
    for (const run of this.runs(text)) {
      const doc = this.use(run.face);
      doc.text(run.text, x, y, { lineBreak: false });
      x += doc.widthOfString(run.text);
    }
  }
}

/**
 * SVG text in runs of font subsets: a text element needing more than the Latin subset gets one tspan
 * per run, named by a font family that fontCallback maps back to the subset.
 */
function svgWithFontRuns(svg: string): string {
  const unescapeXml = (t: string) =>
    t
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
      .replace(/&amp;/g, '&');
  return svg.replace(/(<text\b[^>]*>)([^<]*)(<\/text>)/g, (_, open: string, body: string, close: string) => {
    const bold = /font-weight="bold"/.test(open);
    const text = pdfText(unescapeXml(body));
    const runs = textRuns(text, bold);
    if (runs.length <= 1 && (runs[0]?.face ?? null) === (fontFaces(bold ? 700 : 400)[0] ?? null))
      return `${open}${escapeXml(text)}${close}`;
    const spans = runs
      .map((r) => `<tspan font-family="${escapeXml(`r2c:${r.face.key}`)}">${escapeXml(r.text)}</tspan>`)
      .join('');
    return `${open}${spans}${close}`;
  });
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

function layout(doc: PDFKit.PDFDocument, writer: RunWriter, blocks: ReportBlock[]): void {
  const width = doc.page.width - 2 * MARGIN;
  const bottom = () => doc.page.height - MARGIN;
  const ensure = (height: number) => {
    if (doc.y + height > bottom()) doc.addPage();
  };
  const heading = (text: string, size: number, gapBefore: number) => {
    writer.font(true);
    doc.fontSize(size);
    // Keep a heading with at least a few lines of what follows it.
    ensure(writer.height(pdfText(text), { width }) + gapBefore + 60);
    doc.y += gapBefore;
    writer.text(pdfText(text), MARGIN, doc.y, { width });
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
        writer.font(false);
        doc.fontSize(block.kind === 'p' ? 9.5 : 8.5).fillColor(block.kind === 'p' ? '#111' : '#444');
        const text = pdfText(block.text);
        ensure(Math.min(writer.height(text, { width }), 40));
        writer.text(text, MARGIN, doc.y, { width });
        doc.fillColor('#111');
        doc.y += 6;
        break;
      }
      case 'table':
        drawTable(doc, writer, block.head, block.rows, width, ensure);
        break;
      case 'svg': {
        const size = svgSize(block.svg);
        const scale = Math.min(1, width / size.width, (bottom() - MARGIN) / size.height);
        const w = size.width * scale;
        const h = size.height * scale;
        ensure(h + 8);
        SVGtoPDF(doc, svgWithFontRuns(block.svg), MARGIN, doc.y, {
          width: w,
          height: h,
          fontCallback: (family: string, bold: boolean) => {
            const key = /r2c:([\w-]+)/.exec(family)?.[1];
            const face =
              fontFaces(bold ? 700 : 400).find((f) => f.key === key) ?? fontFaces(bold ? 700 : 400)[0]!;
            writer.use(face);
            return face.key;
          },
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
  writer: RunWriter,
  head: string[],
  rows: string[][],
  width: number,
  ensure: (height: number) => void,
): void {
  const size = head.length > 6 ? 7.5 : 8.5;
  doc.fontSize(size);
  // Column widths follow the longest word and the total text of each column.
  // A word too long for any cell (a SHA-256) is cut into groups of 16 characters that can wrap.
  const breakable = (text: string) => text.replace(/\S{25,}/g, (word) => word.match(/.{1,16}/g)!.join(' '));
  const cells = [head, ...rows].map((r) => r.map((c) => breakable(pdfText(c))));
  const need = head.map((_, c) => {
    const body = cells.slice(1).map((r) => r[c] ?? '');
    writer.font(true);
    const headText = cells[0]![c] ?? '';
    const headWord = Math.max(...headText.split(/\s+/).map((w) => writer.width(w)), 10);
    const headFull = writer.width(headText);
    writer.font(false);
    // A very long word (a SHA-256) may wrap inside itself rather than squeeze the other columns.
    const bodyWord = Math.min(
      Math.max(...body.flatMap((t) => t.split(/\s+/)).map((w) => writer.width(w)), 0),
      width * 0.3,
    );
    const full = Math.max(headFull, ...body.map((t) => writer.width(t)));
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
    writer.font(bold);
    doc.fontSize(size);
    const height =
      Math.max(...row.map((t, c) => writer.height(t, { width: widths[c]! - 2 * CELL_PAD }))) + 2 * CELL_PAD;
    ensure(height);
    let x = MARGIN;
    const y = doc.y;
    row.forEach((text, c) => {
      const w = widths[c]!;
      if (bold) doc.rect(x, y, w, height).fill('#eeeeee').fillColor('#111');
      doc.rect(x, y, w, height).lineWidth(0.5).stroke('#999999');
      doc.fillColor('#111');
      writer.text(text, x + CELL_PAD, y + CELL_PAD, { width: w - 2 * CELL_PAD });
      x += w;
    });
    doc.x = MARGIN;
    doc.y = y + height;
  };
  const [headRow, ...bodyRows] = cells;
  drawRow(headRow!, true);
  for (const row of bodyRows) {
    // A table that runs onto a new page repeats its head there.
    writer.font(false);
    doc.fontSize(size);
    const height =
      Math.max(...row.map((t, c) => writer.height(t, { width: widths[c]! - 2 * CELL_PAD }))) + 2 * CELL_PAD;
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
      info: { Title: `${title}: reader study report`, Creator: 'R2C Workstation' },
    });
    const chunks: Buffer[] = [];
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
    try {
      const writer = new RunWriter(doc);
      layout(doc, writer, blocks);
      // Page numbers, so a printed copy can be checked for completeness.
      const range = doc.bufferedPageRange();
      for (let i = range.start; i < range.start + range.count; i++) {
        doc.switchToPage(i);
        // The footer sits in the bottom margin: no margin while writing it, or pdfkit adds a page.
        doc.page.margins.bottom = 0;
        writer.font(false);
        doc.fontSize(7.5).fillColor('#666');
        writer.lineRight(
          `${pdfText(title)} - page ${i + 1} of ${range.count}`,
          doc.page.width - MARGIN,
          doc.page.height - MARGIN + 14,
        );
      }
      doc.end();
    } catch (error) {
      reject(error);
    }
  });
}
