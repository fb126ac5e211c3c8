import { escapeXml, studyPalette as palette } from '../util/svg.ts';
import type { PreferenceQuestionResult, ScoreQuestionResult } from './results.ts';

/** Standalone SVG plots built as strings (no DOM), so they work in the CLI, exports and the renderer. */

const font = 'font-family="system-ui, sans-serif"';

const fmt = (v: number): string => (Math.round(v * 10) / 10).toString();

function svgDocument(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...body,
    '</svg>',
  ].join('\n');
}

/** Grouped bars: share of each score value per variant, with the mean and its 95% CI in the legend. */
export function scoreDistributionSvg(result: Omit<ScoreQuestionResult, 'svg' | 'differenceSvg'>): string {
  const values = [...new Set(result.perVariant.flatMap((v) => v.distribution.map((d) => d.value)))].sort(
    (a, b) => a - b,
  );
  const width = 640;
  const legendHeight = 20 * result.perVariant.length + 10;
  const height = 320 + legendHeight;
  const left = 56;
  const top = 40;
  const plotWidth = width - left - 20;
  const plotHeight = 220;
  const body: string[] = [
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="15" ${font}>${escapeXml(result.prompt)}: score distribution</text>`,
  ];
  for (const tick of [0, 25, 50, 75, 100]) {
    const y = top + plotHeight - (tick / 100) * plotHeight;
    body.push(
      `<line x1="${left}" y1="${fmt(y)}" x2="${left + plotWidth}" y2="${fmt(y)}" stroke="#dddddd"/>`,
      `<text x="${left - 6}" y="${fmt(y + 4)}" text-anchor="end" font-size="11" ${font}>${tick}%</text>`,
    );
  }
  const groupWidth = values.length > 0 ? plotWidth / values.length : plotWidth;
  const barWidth = (groupWidth * 0.8) / Math.max(1, result.perVariant.length);
  values.forEach((value, g) => {
    const groupX = left + g * groupWidth + groupWidth * 0.1;
    result.perVariant.forEach((variant, i) => {
      const count = variant.distribution.find((d) => d.value === value)?.count ?? 0;
      const share = variant.n > 0 ? count / variant.n : 0;
      const h = share * plotHeight;
      const x = groupX + i * barWidth;
      body.push(
        `<rect x="${fmt(x)}" y="${fmt(top + plotHeight - h)}" width="${fmt(barWidth - 1)}" height="${fmt(h)}" fill="${palette[i % palette.length]}"><title>${escapeXml(`${variant.label}, score ${value}: ${count} of ${variant.n}`)}</title></rect>`,
      );
    });
    body.push(
      `<text x="${fmt(left + g * groupWidth + groupWidth / 2)}" y="${top + plotHeight + 16}" text-anchor="middle" font-size="12" ${font}>${value}</text>`,
    );
  });
  body.push(
    `<line x1="${left}" y1="${top + plotHeight}" x2="${left + plotWidth}" y2="${top + plotHeight}" stroke="#333333"/>`,
    `<text x="${left + plotWidth / 2}" y="${top + plotHeight + 34}" text-anchor="middle" font-size="12" ${font}>score</text>`,
  );
  result.perVariant.forEach((variant, i) => {
    const y = top + plotHeight + 56 + i * 20;
    const mean =
      variant.mean === null
        ? 'no ratings'
        : `mean ${variant.mean.toFixed(2)}` +
          (variant.ci95 ? ` (95% CI ${variant.ci95[0].toFixed(2)}–${variant.ci95[1].toFixed(2)})` : '') +
          `, n=${variant.n}`;
    body.push(
      `<rect x="${left}" y="${y - 10}" width="12" height="12" fill="${palette[i % palette.length]}"/>`,
      `<text x="${left + 18}" y="${y}" font-size="12" ${font}>${escapeXml(`${variant.label}: ${mean}`)}</text>`,
    );
  });
  return svgDocument(width, height, `${result.prompt}: score distribution per variant`, body);
}

/** Horizontal bars: share of judgements preferring A over B, with the Wilson 95% CI and a 50% line. */
export function preferenceSvg(result: Omit<PreferenceQuestionResult, 'svg'>): string {
  const width = 640;
  const rowHeight = 54;
  const top = 44;
  const left = 20;
  const plotWidth = width - 2 * left;
  const height = top + rowHeight * Math.max(1, result.comparisons.length) + 40;
  const body: string[] = [
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="15" ${font}>${escapeXml(result.prompt)}</text>`,
  ];
  result.comparisons.forEach((c, i) => {
    const y = top + i * rowHeight;
    const rate = c.mrmc?.estimate ?? c.rateA ?? 0;
    // The interval that treats readers and cases as random when there is one, else Wilson's.
    const ci = c.mrmc?.ci95 ?? c.ci95;
    const ciName = c.mrmc ? (c.mrmc.readers >= 2 ? 'readers and cases random' : 'cases random') : 'Wilson';
    body.push(
      `<text x="${left}" y="${y + 12}" font-size="12" ${font}>${escapeXml(`${c.labelA} preferred over ${c.labelB}: ${c.rateA === null ? 'no judgements' : `${(rate * 100).toFixed(1)}% (${c.chosenA}/${c.n})`}${ci ? `, 95% CI ${(ci[0] * 100).toFixed(1)}–${(ci[1] * 100).toFixed(1)}% (${ciName})` : ''}`)}</text>`,
      `<rect x="${left}" y="${y + 18}" width="${plotWidth}" height="20" fill="${palette[1]}"/>`,
      `<rect x="${left}" y="${y + 18}" width="${fmt(rate * plotWidth)}" height="20" fill="${palette[0]}"/>`,
    );
    if (ci) {
      const [lo, hi] = ci.map((v) => left + v * plotWidth);
      body.push(
        `<line x1="${fmt(lo!)}" y1="${y + 28}" x2="${fmt(hi!)}" y2="${y + 28}" stroke="#000000" stroke-width="2"/>`,
        `<line x1="${fmt(lo!)}" y1="${y + 22}" x2="${fmt(lo!)}" y2="${y + 34}" stroke="#000000" stroke-width="2"/>`,
        `<line x1="${fmt(hi!)}" y1="${y + 22}" x2="${fmt(hi!)}" y2="${y + 34}" stroke="#000000" stroke-width="2"/>`,
      );
    }
  });
  const mid = left + plotWidth / 2;
  const bottom = top + rowHeight * Math.max(1, result.comparisons.length);
  body.push(
    `<line x1="${mid}" y1="${top + 14}" x2="${mid}" y2="${bottom}" stroke="#333333" stroke-dasharray="4 3"/>`,
    `<text x="${mid}" y="${bottom + 16}" text-anchor="middle" font-size="11" ${font}>50% (no preference)</text>`,
  );
  if (result.comparisons.length === 0)
    body.push(
      `<text x="${mid}" y="${top + 30}" text-anchor="middle" font-size="12" ${font}>no judgements</text>`,
    );
  return svgDocument(width, height, `${result.prompt}: preference`, body);
}

/**
 * Forest plot of the OR-MRMC differences in mean score: per comparison the overall difference
 * (readers and cases random) and each reader's (cases random), with 95% CIs and a line at zero.
 */
export function differenceSvg(result: Omit<ScoreQuestionResult, 'svg' | 'differenceSvg'>): string {
  if (result.differences.length === 0) return '';
  // A difference without an interval (the data cannot give one) is drawn as its point alone.
  const rows: { label: string; estimate: number; ci: [number, number] | null; overall: boolean }[] = [];
  for (const d of result.differences) {
    rows.push({
      label: `${d.labelA} − ${d.labelB} (all readers${d.ci95 ? '' : ', no interval'})`,
      estimate: d.estimate,
      ci: d.ci95,
      overall: true,
    });
    for (const r of d.perReader)
      rows.push({ label: `  ${r.reader}`, estimate: r.estimate, ci: r.ci95, overall: false });
  }
  // Labels are right-aligned before the plot: wide enough for the longest (bold 12 px: about 7 px a
  // Latin character, 12 px a CJK one), so none runs off the left edge; the plot keeps its width.
  const labelWidth = Math.max(
    250,
    ...rows.map((r) => [...r.label].reduce((w, ch) => w + (ch.codePointAt(0)! >= 0x2e80 ? 12.5 : 7.2), 8)),
  );
  const plotLeft = labelWidth + 10;
  const plotWidth = 350;
  const width = plotLeft + plotWidth + 30;
  const rowHeight = 24;
  const top = 44;
  const height = top + rows.length * rowHeight + 40;
  const extent = Math.max(0.5, ...rows.flatMap((r) => (r.ci ?? [r.estimate, r.estimate]).map(Math.abs)));
  const scale = Math.ceil(extent * 2) / 2;
  const x = (v: number) => plotLeft + ((v + scale) / (2 * scale)) * plotWidth;
  const body: string[] = [
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="15" ${font}>${escapeXml(result.prompt)}: difference in mean score (95% CI)</text>`,
  ];
  const bottom = top + rows.length * rowHeight;
  body.push(
    `<line x1="${fmt(x(0))}" y1="${top - 6}" x2="${fmt(x(0))}" y2="${bottom}" stroke="#333333" stroke-dasharray="4 3"/>`,
  );
  for (const tick of [-scale, -scale / 2, 0, scale / 2, scale])
    body.push(
      `<text x="${fmt(x(tick))}" y="${bottom + 16}" text-anchor="middle" font-size="11" ${font}>${tick.toFixed(2)}</text>`,
    );
  rows.forEach((r, i) => {
    const y = top + i * rowHeight + rowHeight / 2;
    const colour = r.overall ? palette[0] : '#555555';
    const interval = r.ci ? `${r.ci[0].toFixed(3)} to ${r.ci[1].toFixed(3)}` : 'no interval';
    body.push(
      `<text x="${labelWidth}" y="${fmt(y + 4)}" text-anchor="end" font-size="12" ${r.overall ? 'font-weight="bold" ' : ''}${font}>${escapeXml(r.label)}</text>`,
    );
    if (r.ci)
      body.push(
        `<line x1="${fmt(x(r.ci[0]))}" y1="${fmt(y)}" x2="${fmt(x(r.ci[1]))}" y2="${fmt(y)}" stroke="${colour}" stroke-width="2"/>`,
      );
    body.push(
      `<rect x="${fmt(x(r.estimate) - 4)}" y="${fmt(y - 4)}" width="8" height="8" fill="${colour}"><title>${escapeXml(`${r.label.trim()}: ${r.estimate.toFixed(3)} (${interval})`)}</title></rect>`,
    );
  });
  return svgDocument(width, height, `${result.prompt}: difference in mean score`, body);
}
