// The study report as a PDF (pdfkit): it parses, every figure of the HTML report is in it (the same
// blocks: MRMC tables with CIs and p-values, preference shares, agreement, the protocol with the
// model's SHA-256, reader times), the plots are drawn, and pages are numbered. Text is read back with
// pdftotext and a page is rendered with pdftoppm (poppler-utils) when installed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import sharp from 'sharp';
import { openReviewStore, studyReportBlocks, studyReportPdf } from '../../../main/review/index.ts';
import { pdfText } from '../../../main/review/report-pdf.ts';
import { sampleStudy, tempDir } from './helpers.ts';

const has = (tool: string): boolean => {
  try {
    execFileSync(tool, ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const poppler = has('pdftotext') && has('pdftoppm');
const sha = 'c0ffee'.repeat(10).slice(0, 64);
const models = [{ id: 'model-r2c', name: 'R2C-GAN', version: '1.0', sha256: sha }];

/** Three readers with ratings that differ by reader, case and image (a hash: not degenerate). */
function readStudy(
  store: ReturnType<typeof openReviewStore>,
  input = sampleStudy({ readers: ['Dr A', 'Dr B', 'Dr C'] }),
) {
  const study = store.createStudy(input);
  const pick = (...parts: string[]) =>
    Number.parseInt(createHash('sha256').update(parts.join('|')).digest('hex').slice(0, 6), 16);
  for (const r of study.readerProgress) {
    let view = store.startOrResumeSession(study.id, r.id);
    while (view.case) {
      const c = view.case;
      const ref = { studyId: study.id, readerId: r.id, caseId: c.caseId };
      for (const image of c.images) {
        const variant = store.resolvePresentation(image.presentationId).variant.id;
        const base = pick(r.id, c.caseId, image.presentationId) % 3;
        const score = 1 + base + (variant === 'v-gan' ? 2 : 0);
        view = store.answer({
          ...ref,
          presentationId: image.presentationId,
          questionId: 'quality',
          value: score,
        });
        view = store.answer({
          ...ref,
          presentationId: image.presentationId,
          questionId: 'findings',
          value: ['yes', 'no', 'unsure'][base]!,
        });
      }
      const chosen = c.images[pick(r.id, c.caseId) % 4 === 0 ? 0 : 1]!;
      view = store.answer({ ...ref, questionId: 'preference', value: chosen.presentationId });
      view = store.next(study.id, r.id);
    }
  }
  return study;
}

describe('study report as PDF', () => {
  const temp = tempDir();
  const out = mkdtempSync(join(tmpdir(), 'r2c-report-pdf-'));
  const store = openReviewStore({ dataDir: temp.dir });
  after(() => {
    store.close();
    temp.remove();
    rmSync(out, { recursive: true, force: true });
  });
  const study = readStudy(store);
  const details = store.getStudy(study.id);
  const results = store.results(study.id);

  test('a PDF file with every page numbered', async () => {
    const pdf = await studyReportPdf(details, results, { models });
    assert.equal(pdf.subarray(0, 5).toString(), '%PDF-');
    assert.match(pdf.subarray(-8).toString(), /%%EOF\s*$/);
    const pages = (pdf.toString('latin1').match(/\/Type \/Page\b/g) ?? []).length;
    assert.ok(pages >= 2, `${pages} pages`);
    writeFileSync(join(out, 'report.pdf'), pdf);
  });

  test('the same content as the HTML report: every heading, paragraph and table cell', {
    skip: !poppler && 'poppler-utils (pdftotext) not installed',
  }, async () => {
    const pdf = await studyReportPdf(details, results, { models });
    const file = join(out, 'content.pdf');
    writeFileSync(file, pdf);
    // -raw: text in drawing order, so a cell's wrapped lines stay together.
    const text = execFileSync('pdftotext', ['-raw', file, '-'], { encoding: 'utf8' });
    const squeeze = (s: string) => s.replace(/\s+/g, '');
    const all = squeeze(text);
    const blocks = studyReportBlocks(details, results, details.name, { models });
    let cells = 0;
    for (const block of blocks) {
      const texts =
        block.kind === 'table'
          ? [...block.head, ...block.rows.flat()]
          : block.kind === 'svg'
            ? []
            : [block.text];
      for (const t of texts) {
        cells++;
        assert.ok(all.includes(squeeze(pdfText(t))), `in the PDF: ${t.slice(0, 80)}`);
      }
    }
    assert.ok(cells > 80, `${cells} texts compared`);
    // The key figures, spelled out.
    const q = results.scores[0]!;
    const d = q.differences[0]!;
    assert.ok(d?.ci95, `an OR-MRMC difference with its interval (${d?.unavailable})`);
    for (const figure of [d.estimate.toFixed(3), d.ci95[0].toFixed(3), d.ci95[1].toFixed(3), d.p!.toFixed(4)])
      assert.ok(all.includes(squeeze(pdfText(figure))), `difference figure ${figure}`);
    const share = results.preferences[0]!.comparisons[0]!;
    assert.ok(
      all.includes(`${((share.mrmc?.estimate ?? share.rateA)! * 100).toFixed(1)}%`),
      'preference share',
    );
    assert.ok(all.includes(sha), 'the model file SHA-256');
    assert.match(text, /Protocol/);
    assert.match(text, /Krippendorff/);
    // The plots are drawn as vector graphics: their titles and axis labels are text in the PDF.
    assert.match(text, /score distribution/);
    assert.match(text, /difference in mean score \(95% CI\)/);
    assert.match(text, /page 1 of \d/);
  });

  test('names in Latin with accents, CJK and Cyrillic print as written (embedded Noto Sans SC subsets)', {
    skip: !poppler && 'poppler-utils (pdftotext) not installed',
  }, async () => {
    const name = 'Étude 山田 Проверка';
    const readers = ['Dr Ærø Ñúñez', '山田 太郎', 'Иванов И. И.'];
    const unicode = readStudy(
      store,
      sampleStudy({
        name,
        readers,
        variants: [
          { id: 'v-orig', kind: 'original', label: 'Исходное 原图' },
          { id: 'v-gan', kind: 'restored', modelId: 'model-r2c', passes: 1, label: 'R2C-GAN, 1 pass' },
        ],
      }),
    );
    const pdf = await studyReportPdf(store.getStudy(unicode.id), store.results(unicode.id), { models });
    const file = join(out, 'unicode.pdf');
    writeFileSync(file, pdf);
    assert.ok(!pdf.toString('latin1').includes('/Helvetica'), 'no standard font left');
    const text = execFileSync('pdftotext', ['-raw', file, '-'], { encoding: 'utf8' });
    assert.match(text, /Étude 山田 Проверка/, 'the study name in the title');
    assert.match(text, /Étude 山田 Проверка - page 1 of \d/, 'and in the page footer');
    for (const reader of readers) assert.ok(text.includes(reader), `reader ${reader} in the text`);
    assert.ok(text.includes('Исходное 原图'), 'variant label in tables');
    assert.ok(!/\?{2,}/.test(text), 'no run of question marks');
    // The forest plot names the readers too (SVG text in the embedded subsets).
    const plots = text.slice(text.indexOf('difference in mean score (95% CI)'));
    assert.ok(plots.includes('山田 太郎') && plots.includes('Иванов'), 'reader names in the plot');
    assert.equal(pdfText('α ≥ κ क'), 'alpha ≥ kappa ?', 'characters no subset draws: nearest ASCII, else ?');
    // Glyphs drawn, not only text extracted (WOFF2 subsets once came out as slashes): the title's
    // strip of page 1 has ink where the name is.
    execFileSync('pdftoppm', ['-png', '-r', '80', '-f', '1', '-l', '1', file, join(out, 'unicode')]);
    const page = sharp(readFileSync(join(out, 'unicode-1.png')));
    const { width } = await page.metadata();
    const title = await page
      .extract({ left: 40, top: 50, width: Math.min(300, (width ?? 600) - 40), height: 40 })
      .greyscale()
      .raw()
      .toBuffer();
    const ink = title.filter((v) => v < 128).length / title.length;
    assert.ok(ink > 0.08, `the title is drawn (${(ink * 100).toFixed(1)}% dark pixels)`);
    if (process.env.R2C_KEEP_PDF) writeFileSync(process.env.R2C_KEEP_PDF, pdf);
  });

  test('a rendered page shows the plots (not blank)', {
    skip: !poppler && 'poppler-utils (pdftoppm) not installed',
  }, async () => {
    const file = join(out, 'report.pdf');
    execFileSync('pdftoppm', ['-png', '-r', '50', '-f', '2', '-l', '2', file, join(out, 'page')]);
    const png = readFileSync(join(out, 'page-2.png'));
    const { channels } = await sharp(png).stats();
    const mean = channels.slice(0, 3).reduce((s, c) => s + c.mean, 0) / 3;
    const coloured = channels[2]!.mean - channels[0]!.mean;
    assert.ok(mean < 250 && mean > 150, `a page with content (mean ${mean.toFixed(1)})`);
    assert.ok(Math.abs(coloured) > 0.3, 'the plot colours are there');
  });
});
