// The one-click study report: one standalone HTML page (no scripts, no remote content) with the
// study's set-up and protocol, the statistics with their methods, and the plots inline. The content
// is built once as blocks (studyReportBlocks); report-pdf.ts renders the same blocks as a PDF.
import { escapeXml } from '../util/svg.ts';
import type { StudyStatistics } from './results.ts';
import type { StudyConfig } from './schema.ts';
import type { StudyDetails, StudyResults } from './types.ts';
import type { ModelInfo } from './variants.ts';

const f = (v: number | null | undefined, digits = 3): string =>
  v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits);
const pct = (v: number | null | undefined): string =>
  v === null || v === undefined ? '—' : `${(v * 100).toFixed(1)}%`;
const ci = (c: readonly [number, number] | null, format: (v: number) => string = (v) => f(v)): string =>
  c ? `${format(c[0])} to ${format(c[1])}` : '—';
const esc = escapeXml;

/** The report as blocks, rendered the same way to HTML (here) and PDF (report-pdf.ts). */
export type ReportBlock =
  | { kind: 'h1' | 'h2' | 'h3' | 'p' | 'method'; text: string }
  | { kind: 'table'; head: string[]; rows: string[][] }
  | { kind: 'svg'; svg: string };

const table = (head: string[], rows: string[][]): ReportBlock => ({ kind: 'table', head, rows });
const h1 = (text: string): ReportBlock => ({ kind: 'h1', text });
const h2 = (text: string): ReportBlock => ({ kind: 'h2', text });
const h3 = (text: string): ReportBlock => ({ kind: 'h3', text });
const p = (text: string): ReportBlock => ({ kind: 'p', text });
const method = (text: string): ReportBlock => ({ kind: 'method', text });
const svg = (text: string): ReportBlock => ({ kind: 'svg', svg: text });

export interface ReportOptions {
  /** Installed models: the variants table names each model's full SHA-256. */
  models?: readonly ModelInfo[] | undefined;
}

/**
 * The report of a study on this workstation (details and results), or of statistics alone (from an
 * MRMC CSV: `r2c study stats --html`, titled by `title`).
 */
/** The protocol: variants (with the exact model file), comparisons, questions, navigation. */
function protocol(config: StudyConfig, options: ReportOptions): ReportBlock[] {
  const label = (id: string) => config.variants.find((v) => v.id === id)?.label ?? id;
  return [
    h2('Protocol'),
    table(
      ['Variant', 'Kind', 'Model', 'Passes', 'Model file SHA-256'],
      config.variants.map((v) => {
        const model = v.modelId ? options.models?.find((m) => m.id === v.modelId) : undefined;
        return [
          v.label,
          v.kind,
          v.modelId ? `${v.modelId}${model ? ` (${model.name} ${model.version})` : ''}` : '—',
          v.passes === undefined ? '—' : String(v.passes),
          v.kind === 'original' ? '—' : (model?.sha256 ?? 'model not installed here: see the label'),
        ];
      }),
    ),
    table(
      ['Comparison', 'Shown'],
      config.comparisons.map(([a, b], i) => [
        `${i + 1}. ${label(a)} vs ${label(b)}`,
        'side by side, sides randomised',
      ]),
    ),
    table(
      ['Question', 'Kind', 'Asked', 'Required', 'Answers'],
      config.questions.map((q) => [
        q.prompt,
        q.kind,
        q.scope === 'each' ? 'for each image' : 'once per case',
        q.required ? 'yes' : 'no',
        q.kind === 'score'
          ? `${q.min}–${q.max}${
              q.anchors
                ? ` (${Object.entries(q.anchors)
                    .map(([k, v]) => `${k} ${v}`)
                    .join(', ')})`
                : ''
            }`
          : q.kind === 'choice'
            ? q.options.join(', ')
            : q.kind === 'comment'
              ? `text, up to ${q.maxLength} characters`
              : 'one of the two images',
      ]),
    ),
    p(
      `Going back: ${config.navigation.goBack === 'none' ? 'never' : config.navigation.goBack === 'previous' ? 'to the previous case only' : 'to any finished case'}; answers of finished cases ${config.navigation.allowEdits ? 'may' : 'may not'} be changed.`,
    ),
  ];
}

export function studyReportBlocks(
  details: StudyDetails | null,
  results: StudyResults | (StudyStatistics & { generatedAt?: string }),
  title = details?.name ?? 'Reader study',
  options: ReportOptions = {},
): ReportBlock[] {
  const parts: ReportBlock[] = [];
  const generatedAt = results.generatedAt ?? new Date().toISOString();
  if (!details || !('timing' in results))
    parts.push(
      h1(title),
      p(
        `Reader study report generated ${generatedAt}. ${results.readers.length} readers, ${results.cases} cases, ${results.ratings} ratings.`,
      ),
    );
  else {
    const { config } = details;
    parts.push(
      h1(title),
      p(
        `Reader study report generated ${generatedAt}. ${results.readers.length} readers, ${results.cases} cases, ${results.ratings} ratings. ${details.closed ? 'The study is closed.' : 'The study is still open: results are interim.'}`,
      ),
      h2('Set-up'),
      table(
        ['Item', 'Value'],
        [
          ['Images', String(config.images.length)],
          [
            'Ground truth',
            ['covid', 'normal', 'unknown']
              .map((t) => `${t}: ${config.images.filter((i) => (i.truth ?? 'unknown') === t).length}`)
              .join(', '),
          ],
          ['Variants', config.variants.map((v) => v.label).join('; ')],
          ['Comparisons', String(config.comparisons.length)],
          [
            'Blinding',
            `method names ${config.blinding.hideMethodNames ? 'hidden' : 'shown'}, patient identifiers ${config.blinding.hidePatientIdentifiers ? 'hidden' : 'shown'}, display ${config.blinding.lockWindowLevel ? 'locked' : 'free'}`,
          ],
          ['Randomisation', `per reader, seed ${config.seed}`],
        ],
      ),
      ...protocol(config, options),
      h2('Readers'),
      table(
        ['Reader', 'Cases finished', 'Median time per case'],
        results.timing.map((t) => [
          t.reader,
          `${t.completedCases} of ${details.cases}`,
          t.medianMsPerCase === null ? '—' : `${(t.medianMsPerCase / 1000).toFixed(1)} s`,
        ]),
      ),
    );
  }
  for (const q of results.scores) {
    parts.push(h2(`${q.prompt} (score)`));
    parts.push(
      table(
        ['Variant', 'n', 'Mean', '95% CI (ratings independent)'],
        q.perVariant.map((v) => [v.label, String(v.n), f(v.mean, 2), ci(v.ci95, (x) => f(x, 2))]),
      ),
    );
    if (q.differences.length > 0) {
      parts.push(h3('Difference in mean score (readers and cases random)'), method(q.differences[0]!.method));
      parts.push(
        table(
          ['Comparison', 'Difference', '95% CI', 'p', 'F', 'df', 'Readers', 'Cases'],
          q.differences.map((d) => [
            `${d.labelA} − ${d.labelB}`,
            f(d.estimate),
            ci(d.ci95),
            f(d.p, 4),
            f(d.f),
            f(d.df, 1),
            String(d.readers),
            String(d.cases),
          ]),
        ),
      );
      for (const d of q.differences)
        if (d.unavailable)
          parts.push(method(`${d.labelA} − ${d.labelB}: no interval or p, ${d.unavailable}.`));
      for (const d of q.differences)
        parts.push(
          table(
            [`Per reader: ${d.labelA} − ${d.labelB}`, 'Difference', '95% CI', 'p'],
            d.perReader.map((r) => [r.reader, f(r.estimate), ci(r.ci95), f(r.p, 4)]),
          ),
        );
    }
    if (q.differencesNote) parts.push(method(`No OR-MRMC difference: ${q.differencesNote}.`));
    const agreement: string[][] = [];
    const { weightedKappa, icc, alpha } = q.agreement;
    if (weightedKappa)
      for (const k of [weightedKappa.linear, weightedKappa.quadratic])
        agreement.push([k.method, f(k.kappa), ci(k.ci95), String(k.items)]);
    if (icc) agreement.push([icc.method, f(icc.icc), ci(icc.ci95), String(icc.items)]);
    if (alpha) agreement.push([alpha.method, f(alpha.alpha), '—', String(alpha.items)]);
    if (agreement.length > 0)
      parts.push(h3('Agreement'), table(['Method', 'Value', '95% CI', 'Items'], agreement));
    parts.push(svg(q.svg));
    if (q.differenceSvg) parts.push(svg(q.differenceSvg));
  }
  for (const q of results.preferences) {
    parts.push(h2(`${q.prompt} (forced choice)`));
    parts.push(
      table(
        [
          'Preferred',
          'Over',
          'Share',
          '95% CI, readers and cases random',
          'Judgements',
          '95% CI (Wilson, independent)',
        ],
        q.comparisons.map((c) => [
          c.labelA,
          c.labelB,
          pct(c.mrmc?.estimate ?? c.rateA),
          c.mrmc ? ci(c.mrmc.ci95, pct) : '—',
          `${c.chosenA} of ${c.n}`,
          ci(c.ci95, pct),
        ]),
      ),
    );
    const orMethod = q.comparisons.find((c) => c.mrmc)?.mrmc?.method;
    if (orMethod) parts.push(method(orMethod));
    const agreement: string[][] = [];
    if (q.agreement) agreement.push([q.agreement.method, f(q.agreement.kappa), String(q.agreement.items)]);
    if (q.alpha) agreement.push([q.alpha.method, f(q.alpha.alpha), String(q.alpha.items)]);
    if (agreement.length > 0) parts.push(table(['Agreement', 'Value', 'Items'], agreement));
    parts.push(svg(q.svg));
  }
  for (const q of results.choices) {
    parts.push(h2(`${q.prompt} (categorical)`));
    parts.push(
      table(
        ['Variant', 'n', `Share '${q.firstOption}'`, '95% CI (Wilson)', ...q.options],
        q.perVariant.map((v) => [
          v.label ?? 'per case',
          String(v.n),
          pct(v.firstOptionRate),
          ci(v.ci95, pct),
          ...q.options.map((o) => String(v.counts[o] ?? 0)),
        ]),
      ),
    );
    const agreement: string[][] = [];
    if (q.agreement) agreement.push([q.agreement.method, f(q.agreement.kappa), String(q.agreement.items)]);
    if (q.alpha) agreement.push([q.alpha.method, f(q.alpha.alpha), String(q.alpha.items)]);
    if (agreement.length > 0) parts.push(table(['Agreement', 'Value', 'Items'], agreement));
  }
  parts.push(
    h2('Methods'),
    p(
      'Differences in mean score: Obuchowski-Rockette analysis with Hillis denominator degrees of freedom, readers and cases random, error covariances by the jackknife over cases (validated against the Van Dyke example: RJafroc dataset02 / MRMCaov). Preference share: the mean over readers of each reader’s share, single-treatment Obuchowski-Rockette interval. Agreement: Cohen’s (weighted) kappa for two readers, Fleiss’ kappa and Krippendorff’s alpha for three or more, ICC(2,1).',
    ),
  );
  return parts;
}

function blockHtml(block: ReportBlock): string {
  switch (block.kind) {
    case 'h1':
    case 'h2':
    case 'h3':
    case 'p':
      return `<${block.kind}>${esc(block.text)}</${block.kind}>`;
    case 'method':
      return `<p class="method">${esc(block.text)}</p>`;
    case 'table':
      return `<table><thead><tr>${block.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${block.rows
        .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
        .join('')}</tbody></table>`;
    case 'svg':
      return `<figure>${block.svg}</figure>`;
  }
}

/**
 * The report of a study on this workstation (details and results), or of statistics alone (from an
 * MRMC CSV: `r2c study stats --html`, titled by `title`), as one standalone HTML page.
 */
export function studyReportHtml(
  details: StudyDetails | null,
  results: StudyResults | (StudyStatistics & { generatedAt?: string }),
  title = details?.name ?? 'Reader study',
  options: ReportOptions = {},
): string {
  const parts = studyReportBlocks(details, results, title, options).map(blockHtml);
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    `<title>${esc(title)}: reader study report</title>`,
    '<style>body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;color:#111}table{border-collapse:collapse;margin:.5em 0 1em}th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left}th{background:#f2f2f2}.method{color:#444;font-size:.9em}figure{margin:1em 0}</style>',
    '</head><body>',
    ...parts,
    '</body></html>',
    '',
  ].join('\n');
}
