// The one-click study report: one standalone HTML page (no scripts, no remote content) with the
// study's set-up, the statistics with their methods, and the plots inline.
import { escapeXml } from '../util/svg.ts';
import type { StudyStatistics } from './results.ts';
import type { StudyDetails, StudyResults } from './types.ts';

const f = (v: number | null | undefined, digits = 3): string =>
  v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits);
const pct = (v: number | null | undefined): string =>
  v === null || v === undefined ? '—' : `${(v * 100).toFixed(1)}%`;
const ci = (c: readonly [number, number] | null, format: (v: number) => string = (v) => f(v)): string =>
  c ? `${format(c[0])} to ${format(c[1])}` : '—';
const esc = escapeXml;

function table(head: string[], rows: string[][]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

/**
 * The report of a study on this workstation (details and results), or of statistics alone (from an
 * MRMC CSV: `r2c study stats --html`, titled by `title`).
 */
export function studyReportHtml(
  details: StudyDetails | null,
  results: StudyResults | (StudyStatistics & { generatedAt?: string }),
  title = details?.name ?? 'Reader study',
): string {
  const parts: string[] = [];
  const generatedAt = results.generatedAt ?? new Date().toISOString();
  if (!details || !('timing' in results))
    parts.push(
      `<h1>${esc(title)}</h1>`,
      `<p>Reader study report generated ${esc(generatedAt)}. ${results.readers.length} readers, ${results.cases} cases, ${results.ratings} ratings.</p>`,
    );
  else {
    const { config } = details;
    parts.push(
      `<h1>${esc(title)}</h1>`,
      `<p>Reader study report generated ${esc(generatedAt)}. ${results.readers.length} readers, ${results.cases} cases, ${results.ratings} ratings. ${details.closed ? 'The study is closed.' : 'The study is still open: results are interim.'}</p>`,
      '<h2>Set-up</h2>',
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
      '<h2>Readers</h2>',
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
    parts.push(`<h2>${esc(q.prompt)} (score)</h2>`);
    parts.push(
      table(
        ['Variant', 'n', 'Mean', '95% CI (ratings independent)'],
        q.perVariant.map((v) => [v.label, String(v.n), f(v.mean, 2), ci(v.ci95, (x) => f(x, 2))]),
      ),
    );
    if (q.differences.length > 0) {
      parts.push(
        `<h3>Difference in mean score (readers and cases random)</h3><p class="method">${esc(q.differences[0]!.method)}</p>`,
      );
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
        parts.push(
          table(
            [`Per reader: ${d.labelA} − ${d.labelB}`, 'Difference', '95% CI', 'p'],
            d.perReader.map((r) => [r.reader, f(r.estimate), ci(r.ci95), f(r.p, 4)]),
          ),
        );
    } else if (q.differencesNote)
      parts.push(`<p class="method">No OR-MRMC difference: ${esc(q.differencesNote)}.</p>`);
    const agreement: string[][] = [];
    const { weightedKappa, icc, alpha } = q.agreement;
    if (weightedKappa)
      for (const k of [weightedKappa.linear, weightedKappa.quadratic])
        agreement.push([k.method, f(k.kappa), ci(k.ci95), String(k.items)]);
    if (icc) agreement.push([icc.method, f(icc.icc), ci(icc.ci95), String(icc.items)]);
    if (alpha) agreement.push([alpha.method, f(alpha.alpha), '—', String(alpha.items)]);
    if (agreement.length > 0)
      parts.push('<h3>Agreement</h3>', table(['Method', 'Value', '95% CI', 'Items'], agreement));
    parts.push(`<figure>${q.svg}</figure>`);
    if (q.differenceSvg) parts.push(`<figure>${q.differenceSvg}</figure>`);
  }
  for (const q of results.preferences) {
    parts.push(`<h2>${esc(q.prompt)} (forced choice)</h2>`);
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
    const method = q.comparisons.find((c) => c.mrmc)?.mrmc?.method;
    if (method) parts.push(`<p class="method">${esc(method)}</p>`);
    const agreement: string[][] = [];
    if (q.agreement) agreement.push([q.agreement.method, f(q.agreement.kappa), String(q.agreement.items)]);
    if (q.alpha) agreement.push([q.alpha.method, f(q.alpha.alpha), String(q.alpha.items)]);
    if (agreement.length > 0) parts.push(table(['Agreement', 'Value', 'Items'], agreement));
    parts.push(`<figure>${q.svg}</figure>`);
  }
  for (const q of results.choices) {
    parts.push(`<h2>${esc(q.prompt)} (categorical)</h2>`);
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
    '<h2>Methods</h2>',
    '<p>Differences in mean score: Obuchowski-Rockette analysis with Hillis denominator degrees of freedom, readers and cases random, error covariances by the jackknife over cases (validated against the Van Dyke example: RJafroc dataset02 / MRMCaov). Preference share: the mean over readers of each reader’s share, single-treatment Obuchowski-Rockette interval. Agreement: Cohen’s (weighted) kappa for two readers, Fleiss’ kappa and Krippendorff’s alpha for three or more, ICC(2,1).</p>',
  );
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
