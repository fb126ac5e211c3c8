/** Standalone SVG plots (strings, no DOM), readable in any browser or embedded in a report. */

import { escapeXml, metricPalette as palette, niceStep } from '../util/svg.ts';

export { escapeXml };

const round2 = (v: number) => Math.round(v * 100) / 100;
const fmt = (v: number) => (Number.isFinite(v) ? Number(v.toFixed(2)).toString() : 'n/a');

export interface RocSeries {
  name: string;
  points: readonly { fpr: number; tpr: number }[];
  auc?: number;
}

export function rocCurveSvg(
  series: readonly RocSeries[],
  options: { title?: string; size?: number } = {},
): string {
  const size = options.size ?? 420;
  const m = { left: 56, right: 16, top: 36, bottom: 48 };
  const w = size - m.left - m.right;
  const h = size - m.top - m.bottom;
  const px = (v: number) => round2(m.left + v * w);
  const py = (v: number) => round2(m.top + (1 - v) * h);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}" font-family="sans-serif" font-size="12">`,
    `<rect width="${size}" height="${size}" fill="white"/>`,
    `<text x="${size / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(options.title ?? 'ROC curve')}</text>`,
  );
  for (let t = 0; t <= 10; t += 2) {
    const v = t / 10;
    parts.push(
      `<line x1="${px(v)}" y1="${py(0)}" x2="${px(v)}" y2="${py(1)}" stroke="#eee"/>`,
      `<line x1="${px(0)}" y1="${py(v)}" x2="${px(1)}" y2="${py(v)}" stroke="#eee"/>`,
      `<text x="${px(v)}" y="${py(0) + 16}" text-anchor="middle">${v.toFixed(1)}</text>`,
      `<text x="${px(0) - 6}" y="${py(v) + 4}" text-anchor="end">${v.toFixed(1)}</text>`,
    );
  }
  parts.push(
    `<rect x="${px(0)}" y="${py(1)}" width="${w}" height="${h}" fill="none" stroke="#333"/>`,
    `<line x1="${px(0)}" y1="${py(0)}" x2="${px(1)}" y2="${py(1)}" stroke="#999" stroke-dasharray="4 4"/>`,
    `<text x="${px(0.5)}" y="${size - 10}" text-anchor="middle">False positive rate (1 - specificity)</text>`,
    `<text transform="translate(14 ${py(0.5)}) rotate(-90)" text-anchor="middle">True positive rate (sensitivity)</text>`,
  );
  series.forEach((s, k) => {
    const color = palette[k % palette.length]!;
    const pts = s.points
      .filter((p) => Number.isFinite(p.fpr) && Number.isFinite(p.tpr))
      .map((p) => `${px(p.fpr).toFixed(2)},${py(p.tpr).toFixed(2)}`)
      .join(' ');
    parts.push(`<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="2"/>`);
    const label = s.auc === undefined ? s.name : `${s.name} (AUC ${fmt(s.auc)})`;
    const ly = py(0) - 10 - (series.length - 1 - k) * 16;
    parts.push(
      `<line x1="${px(0.45)}" y1="${ly - 4}" x2="${px(0.52)}" y2="${ly - 4}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${px(0.54)}" y="${ly}">${escapeXml(label)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export interface BarChartInput {
  title: string;
  yLabel: string;
  categories: readonly string[];
  series: readonly { name: string; values: readonly number[] }[];
}

/** Grouped bar chart; negative values go below the zero line; non-finite values are left out. */
export function barChartSvg(input: BarChartInput, options: { width?: number; height?: number } = {}): string {
  const width =
    options.width ?? Math.max(420, 90 + input.categories.length * (24 + input.series.length * 18));
  const height = options.height ?? 360;
  const m = { left: 60, right: 16, top: 36, bottom: 110 };
  const w = width - m.left - m.right;
  const h = height - m.top - m.bottom;
  const values = input.series.flatMap((s) => s.values).filter(Number.isFinite);
  let lo = Math.min(0, ...values);
  let hi = Math.max(0, ...values);
  if (hi === lo) hi = lo + 1;
  const step = niceStep((hi - lo) / 5);
  lo = Math.floor(lo / step) * step;
  hi = Math.ceil(hi / step) * step;
  const py = (v: number) => round2(m.top + ((hi - v) / (hi - lo)) * h);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(input.title)}</text>`,
    `<text transform="translate(14 ${m.top + h / 2}) rotate(-90)" text-anchor="middle">${escapeXml(input.yLabel)}</text>`,
  ];
  for (let v = lo; v <= hi + step / 2; v += step) {
    parts.push(
      `<line x1="${m.left}" y1="${py(v)}" x2="${m.left + w}" y2="${py(v)}" stroke="#eee"/>`,
      `<text x="${m.left - 6}" y="${py(v) + 4}" text-anchor="end">${fmt(v)}</text>`,
    );
  }
  const groupWidth = w / Math.max(1, input.categories.length);
  const barWidth = (groupWidth * 0.8) / Math.max(1, input.series.length);
  input.categories.forEach((category, c) => {
    const gx = m.left + c * groupWidth + groupWidth * 0.1;
    input.series.forEach((s, k) => {
      const v = s.values[c];
      if (v === undefined || !Number.isFinite(v)) return;
      const y0 = py(Math.max(0, v));
      const bh = Math.abs(py(v) - py(0));
      parts.push(
        `<rect x="${(gx + k * barWidth).toFixed(2)}" y="${y0.toFixed(2)}" width="${(barWidth * 0.92).toFixed(2)}" height="${bh.toFixed(2)}" fill="${palette[k % palette.length]}"><title>${escapeXml(`${s.name}, ${category}: ${fmt(v)}`)}</title></rect>`,
      );
    });
    const cx = m.left + (c + 0.5) * groupWidth;
    parts.push(
      // labels end under their group and run down-left, so long names stay inside the chart
      `<text transform="translate(${(cx + 4).toFixed(2)} ${m.top + h + 14}) rotate(-35)" text-anchor="end">${escapeXml(category)}</text>`,
    );
  });
  parts.push(`<line x1="${m.left}" y1="${py(0)}" x2="${m.left + w}" y2="${py(0)}" stroke="#333"/>`);
  input.series.forEach((s, k) => {
    const lx = m.left + 8 + k * 130;
    parts.push(
      `<rect x="${lx}" y="${height - 18}" width="12" height="12" fill="${palette[k % palette.length]}"/>`,
      `<text x="${lx + 16}" y="${height - 8}">${escapeXml(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}
