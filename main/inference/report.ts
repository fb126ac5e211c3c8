import sharp from 'sharp';
import { resizeGray } from '../util/resize.ts';
import type { GrayImage } from '../util/image.ts';

/** Perceptually ordered heat colours (black → red → yellow → white), v in [0,1]. */
export function heatColor(v: number): [number, number, number] {
  const t = Math.min(1, Math.max(0, v));
  return [Math.min(1, t * 3), Math.min(1, Math.max(0, t * 3 - 1)), Math.min(1, Math.max(0, t * 3 - 2))];
}

/**
 * Three panels side by side: original | restored | original with the class activation heat map
 * (opacity grows with the evidence, so weak evidence leaves the anatomy visible).
 */
export async function comparisonPng(
  original: GrayImage,
  restored: GrayImage,
  heatmap: GrayImage,
): Promise<Buffer> {
  const { width, height } = restored;
  const base =
    original.width === width && original.height === height ? original : resizeGray(original, width, height);
  const gap = 8;
  const total = width * 3 + gap * 2;
  const rgb = new Uint8Array(total * height * 3);
  const put = (x: number, y: number, r: number, g: number, b: number) => {
    const i = (y * total + x) * 3;
    rgb[i] = Math.round(Math.min(1, Math.max(0, r)) * 255);
    rgb[i + 1] = Math.round(Math.min(1, Math.max(0, g)) * 255);
    rgb[i + 2] = Math.round(Math.min(1, Math.max(0, b)) * 255);
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const o = base.data[i]!;
      const r = restored.data[i]!;
      const h = heatmap.data[i]!;
      const [hr, hg, hb] = heatColor(h);
      const a = 0.65 * h;
      put(x, y, o, o, o);
      put(width + gap + x, y, r, r, r);
      put(2 * (width + gap) + x, y, o * (1 - a) + hr * a, o * (1 - a) + hg * a, o * (1 - a) + hb * a);
    }
  }
  return sharp(rgb, { raw: { width: total, height, channels: 3 } })
    .png()
    .toBuffer();
}

export interface ReportEntry {
  name: string;
  png: Buffer;
  covid: number;
  label: 'covid' | 'normal';
  threshold: number;
  /** Positive / negative / indeterminate (absent on entries written before the band existed). */
  decision?: 'positive' | 'negative' | 'indeterminate';
  indeterminate?: { low: number; high: number };
  validation?: { sensitivity: number; specificity: number; on: string };
  /** The input gate refused it and the user overrode: why it was refused. */
  override?: string;
}

/** An input the gate refused: listed with its reasons, not classified. */
export interface RefusedEntry {
  name: string;
  reason: string;
}

export interface ReportModel {
  id: string;
  version: string;
  sha256: string;
  name?: string;
  /** The heat map's fixed scale (class-activation value drawn as full heat), or per image. */
  heatmapScale: { max: number; chosenOn: string } | 'per-image';
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const pct = (p: number, digits = 1) => `${(p * 100).toFixed(digits)}%`;
const DECISION_LABEL = {
  positive: 'COVID-19 pattern suggested',
  negative: 'No COVID-19 pattern suggested',
  indeterminate: 'Indeterminate',
} as const;

/** The result line: decision, probability, threshold, band and the validation figures. */
export function resultText(e: ReportEntry): string {
  const decision = e.decision ?? (e.label === 'covid' ? 'positive' : 'negative');
  const band = e.indeterminate
    ? `, indeterminate ${pct(e.indeterminate.low)}–${pct(e.indeterminate.high)}`
    : ', no indeterminate band (uncalibrated model)';
  const validation = e.validation
    ? ` · validation sensitivity ${pct(e.validation.sensitivity, 0)}, specificity ${pct(e.validation.specificity, 0)} at this threshold`
    : '';
  return `${DECISION_LABEL[decision]} — p(COVID-19) = ${pct(e.covid)} (threshold ${pct(e.threshold)}${band})${validation}`;
}

/** A self-contained HTML page (images inline) that opens offline in any browser. */
export function htmlReport(
  title: string,
  model: ReportModel,
  provider: string,
  entries: ReportEntry[],
  refused: RefusedEntry[] = [],
): string {
  const rows = entries
    .map((e) => {
      const decision = e.decision ?? (e.label === 'covid' ? 'positive' : 'negative');
      return `<section><h2>${escapeHtml(e.name)}</h2>
<p class="result ${decision}">${escapeHtml(resultText(e))}</p>
${e.override ? `<p class="override">Classified on user override although outside the model's intended use: ${escapeHtml(e.override)}</p>` : ''}
<img alt="original, restored and heat map of ${escapeHtml(e.name)}" src="data:image/png;base64,${e.png.toString('base64')}">
<p class="legend"><span>Original</span><span>Restored</span><span>Where the classifier looked</span></p></section>`;
    })
    .join('\n');
  const refusedRows = refused.length
    ? `<section><h2>Not classified: outside the model's intended use</h2><ul>${refused
        .map((r) => `<li><b>${escapeHtml(r.name)}</b>: ${escapeHtml(r.reason)}</li>`)
        .join('')}</ul></section>`
    : '';
  const scale =
    model.heatmapScale === 'per-image'
      ? 'Heat map scaled per image (this model has no calibrated scale): colours are not comparable between images.'
      : `Heat map on a fixed scale for this model: 0 (black) to ${model.heatmapScale.max} (white) class-activation units, the same on every image (${model.heatmapScale.chosenOn}).`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;background:#0f1115;color:#e6e8ec;margin:24px}img{max-width:100%}
.legend{display:flex;justify-content:space-around;color:#9aa3b2}.positive{color:#ff8a80}.negative{color:#8fd19e}
.indeterminate{color:#e0c36c}.notice{color:#d9b45a}.override{color:#ffb74d}
.scale{display:flex;align-items:center;gap:8px;color:#9aa3b2}
.bar{width:240px;height:12px;background:linear-gradient(90deg,#000,#f00 33%,#ff0 67%,#fff)}</style></head><body><h1>${escapeHtml(title)}</h1>
<p>Model ${escapeHtml(model.name ? `${model.name} — ` : '')}${escapeHtml(model.id)} ${escapeHtml(model.version)} (ONNX SHA-256 <code>${escapeHtml(model.sha256)}</code>) on ${escapeHtml(provider)}.</p>
<p class="notice">Decision support for research use only; not a diagnosis. The result must be reviewed by a qualified reader together with the original image.</p>
<p class="scale"><span>0</span><span class="bar"></span><span>${model.heatmapScale === 'per-image' ? 'image max' : model.heatmapScale.max}</span></p><p class="legend">${escapeHtml(scale)}</p>
${rows}
${refusedRows}</body></html>\n`;
}
