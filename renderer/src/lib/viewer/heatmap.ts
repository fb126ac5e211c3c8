// Heat map colours: Google's Turbo colour map (perceptually smoother than jet), interpolated between
// seven of its samples; low values are transparent so the anatomy stays visible.
const ANCHORS: [number, number, number][] = [
  [48, 18, 59],
  [70, 134, 251],
  [27, 229, 181],
  [164, 252, 60],
  [251, 185, 56],
  [228, 90, 22],
  [122, 4, 3],
];

function turbo(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, t)) * (ANCHORS.length - 1);
  const i = Math.min(ANCHORS.length - 2, Math.floor(x));
  const f = x - i;
  const [a, b] = [ANCHORS[i]!, ANCHORS[i + 1]!];
  return [0, 1, 2].map((k) => Math.round(a[k]! + (b[k]! - a[k]!) * f)) as [number, number, number];
}

export const TURBO: readonly [number, number, number][] = Array.from({ length: 256 }, (_, i) =>
  turbo(i / 255),
);

/** RGBA pixels of the heat map; alpha grows with the value so weak evidence fades out. */
export function heatmapPixels(values: Uint8Array, width: number, height: number): ImageData {
  const out = new ImageData(width, height);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const [r, g, b] = TURBO[v]!;
    out.data[4 * i] = r;
    out.data[4 * i + 1] = g;
    out.data[4 * i + 2] = b;
    out.data[4 * i + 3] = Math.round(255 * Math.min(1, (v / 255) * 1.5));
  }
  return out;
}
