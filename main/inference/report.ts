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
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A self-contained HTML page (images inline) that opens offline in any browser. */
export function htmlReport(title: string, model: string, provider: string, entries: ReportEntry[]): string {
  const rows = entries
    .map(
      (e) => `<section><h2>${escapeHtml(e.name)}</h2>
<p class="result ${e.label}">${e.label === 'covid' ? 'COVID-19 pattern' : 'No COVID-19 pattern'} — p(COVID-19) = ${(e.covid * 100).toFixed(1)}% (threshold ${(e.threshold * 100).toFixed(0)}%)</p>
<img alt="original, restored and heat map of ${escapeHtml(e.name)}" src="data:image/png;base64,${e.png.toString('base64')}">
<p class="legend"><span>Original</span><span>Restored</span><span>Where the classifier looked</span></p></section>`,
    )
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;background:#0f1115;color:#e6e8ec;margin:24px}img{max-width:100%}
.legend{display:flex;justify-content:space-around;color:#9aa3b2}.covid{color:#ff8a80}.normal{color:#8fd19e}
.notice{color:#d9b45a}</style></head><body><h1>${escapeHtml(title)}</h1>
<p>Model ${escapeHtml(model)} on ${escapeHtml(provider)}.</p>
<p class="notice">Decision support for research use — not a diagnosis.</p>
${rows}</body></html>\n`;
}
