// What every hand-written SVG plot needs (evaluation, training loss curves, reader-study statistics):
// plots are built as strings, without a DOM or a charting library.

/** Text for an SVG/XML element or attribute. */
export function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;');
}

/** The 1, 2 or 5 × 10^k at or above `raw`: a readable axis tick interval. */
export function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

/** Series colours of the metric plots (evaluation, training): matplotlib's default cycle. */
export const metricPalette = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
] as const;

/** Variant colours of the reader-study plots: Tableau 10. */
export const studyPalette = [
  '#4e79a7',
  '#f28e2b',
  '#59a14f',
  '#e15759',
  '#76b7b2',
  '#edc948',
  '#b07aa1',
  '#9c755f',
] as const;
