// Loss curves as a standalone SVG line chart (string, no DOM), styled like main/evaluation/plots.ts.
// Hand-written for the same reason as those plots: no charting library is installed, and a few
// dozen lines give a file any browser (and sharp, for the PNG) renders.
import { escapeXml, metricPalette as palette, niceStep } from '../util/svg.ts';

const round2 = (v: number) => Math.round(v * 100) / 100;

export interface LineSeries {
  name: string;
  points: readonly { x: number; y: number }[];
}

export interface LineChartInput {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly LineSeries[];
  /** Logarithmic y axis (non-positive values are left out). */
  logY?: boolean;
}

/** At most `max` points, evenly strided, always keeping the last one. */
export function thin<T>(points: readonly T[], max = 800): T[] {
  if (points.length <= max) return [...points];
  const stride = points.length / max;
  const out: T[] = [];
  for (let i = 0; i < max; i++) out.push(points[Math.floor(i * stride)] as T);
  out[out.length - 1] = points[points.length - 1] as T;
  return out;
}

const fmtTick = (v: number) =>
  Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0)
    ? v.toExponential(0)
    : String(Number(v.toPrecision(3)));

export function lineChartSvg(
  input: LineChartInput,
  options: { width?: number; height?: number } = {},
): string {
  const width = options.width ?? 720;
  const height = options.height ?? 400;
  const m = { left: 64, right: 16, top: 36, bottom: 64 };
  const w = width - m.left - m.right;
  const h = height - m.top - m.bottom;
  const usable = (p: { x: number; y: number }) =>
    Number.isFinite(p.x) && Number.isFinite(p.y) && (!input.logY || p.y > 0);
  // A series with no data (e.g. the cycle terms of a paired run) gets no line and no legend entry.
  const series = input.series
    .map((s) => ({ name: s.name, points: thin(s.points.filter(usable)) }))
    .filter((s) => s.points.length > 0);
  const all = series.flatMap((s) => s.points);
  let x0 = Math.min(...all.map((p) => p.x));
  let x1 = Math.max(...all.map((p) => p.x));
  if (!Number.isFinite(x0)) [x0, x1] = [0, 1];
  if (x1 === x0) x1 = x0 + 1;
  const ty = (v: number) => (input.logY ? Math.log10(v) : v);
  let y0 = Math.min(...all.map((p) => ty(p.y)));
  let y1 = Math.max(...all.map((p) => ty(p.y)));
  if (!Number.isFinite(y0)) [y0, y1] = [0, 1];
  if (y1 === y0) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const yTicks: number[] = [];
  if (input.logY) {
    y0 = Math.floor(y0);
    y1 = Math.ceil(y1);
    for (let e = y0; e <= y1; e++) yTicks.push(e);
  } else {
    const step = niceStep((y1 - y0) / 5);
    y0 = Math.floor(y0 / step) * step;
    y1 = Math.ceil(y1 / step) * step;
    for (let v = y0; v <= y1 + step / 2; v += step) yTicks.push(v);
  }
  const px = (v: number) => round2(m.left + ((v - x0) / (x1 - x0)) * w);
  const py = (v: number) => round2(m.top + ((y1 - v) / (y1 - y0)) * h);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(input.title)}</text>`,
    `<text transform="translate(14 ${m.top + h / 2}) rotate(-90)" text-anchor="middle">${escapeXml(input.yLabel)}</text>`,
    `<text x="${m.left + w / 2}" y="${height - 28}" text-anchor="middle">${escapeXml(input.xLabel)}</text>`,
  ];
  for (const t of yTicks) {
    const label = input.logY ? fmtTick(10 ** t) : fmtTick(t);
    parts.push(
      `<line x1="${m.left}" y1="${py(t)}" x2="${m.left + w}" y2="${py(t)}" stroke="#eee"/>`,
      `<text x="${m.left - 6}" y="${py(t) + 4}" text-anchor="end">${label}</text>`,
    );
  }
  const xStep = niceStep((x1 - x0) / 6);
  for (let v = Math.ceil(x0 / xStep) * xStep; v <= x1 + xStep / 1e6; v += xStep) {
    parts.push(
      `<line x1="${px(v)}" y1="${m.top}" x2="${px(v)}" y2="${m.top + h}" stroke="#eee"/>`,
      `<text x="${px(v)}" y="${m.top + h + 16}" text-anchor="middle">${fmtTick(v)}</text>`,
    );
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${w}" height="${h}" fill="none" stroke="#333"/>`);
  series.forEach((s, k) => {
    const color = palette[k % palette.length]!;
    const pts = s.points.map((p) => `${px(p.x).toFixed(2)},${py(ty(p.y)).toFixed(2)}`).join(' ');
    if (pts) parts.push(`<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
    const lx = 8 + k * Math.min(120, (width - 16) / series.length);
    parts.push(
      `<line x1="${lx}" y1="${height - 12}" x2="${lx + 14}" y2="${height - 12}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${lx + 18}" y="${height - 8}">${escapeXml(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}
