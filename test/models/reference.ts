// Plain TypeScript float64 reference implementation of the R2C-GAN networks (naive loops), written
// from the reference description independently of the graph builder, to check ONNX forward passes
// and to give float64 finite differences for ops onnxruntime only runs in float32.
import type { NetConfig } from '../../models/nets.ts';

export interface T4 {
  data: Float64Array;
  shape: [number, number, number, number];
}

export function t4(shape: [number, number, number, number], data?: ArrayLike<number>): T4 {
  const n = shape[0] * shape[1] * shape[2] * shape[3];
  return { shape, data: data ? Float64Array.from(data) : new Float64Array(n) };
}

function at(t: T4, n: number, c: number, y: number, x: number): number {
  const [, C, H, W] = t.shape;
  return t.data[((n * C + c) * H + y) * W + x] as number;
}

/** Cross-correlation, weight [Co, Ci, k, k], zero padding [top, left, bottom, right]. */
export function conv2d(x: T4, w: T4, bias: Float64Array | undefined, stride: number, pads: number[]): T4 {
  const [N, Ci, H, W] = x.shape;
  const [Co, , kh, kw] = w.shape;
  const [pt, pl, pb, pr] = pads as [number, number, number, number];
  const Ho = Math.floor((H + pt + pb - kh) / stride) + 1;
  const Wo = Math.floor((W + pl + pr - kw) / stride) + 1;
  const out = t4([N, Co, Ho, Wo]);
  let o = 0;
  for (let n = 0; n < N; n++)
    for (let co = 0; co < Co; co++)
      for (let oy = 0; oy < Ho; oy++)
        for (let ox = 0; ox < Wo; ox++) {
          let s = bias ? (bias[co] as number) : 0;
          for (let ci = 0; ci < Ci; ci++)
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * stride + ky - pt;
              if (iy < 0 || iy >= H) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * stride + kx - pl;
                if (ix < 0 || ix >= W) continue;
                s += at(x, n, ci, iy, ix) * at(w, co, ci, ky, kx);
              }
            }
          out.data[o++] = s;
        }
  return out;
}

/** Transposed conv (scatter form), weight [Ci, Co, k, k]; output cropped by pads [t, l, b, r]. */
export function convTranspose2d(
  x: T4,
  w: T4,
  bias: Float64Array | undefined,
  stride: number,
  pads: number[],
): T4 {
  const [N, Ci, H, W] = x.shape;
  const [, Co, kh, kw] = w.shape;
  const [pt, pl, pb, pr] = pads as [number, number, number, number];
  const Ho = stride * (H - 1) + kh - pt - pb;
  const Wo = stride * (W - 1) + kw - pl - pr;
  const out = t4([N, Co, Ho, Wo]);
  for (let n = 0; n < N; n++)
    for (let co = 0; co < Co; co++) {
      const base = (n * Co + co) * Ho * Wo;
      if (bias) for (let i = 0; i < Ho * Wo; i++) out.data[base + i] = bias[co] as number;
      for (let ci = 0; ci < Ci; ci++)
        for (let iy = 0; iy < H; iy++)
          for (let ix = 0; ix < W; ix++) {
            const v = at(x, n, ci, iy, ix);
            for (let ky = 0; ky < kh; ky++) {
              const oy = iy * stride + ky - pt;
              if (oy < 0 || oy >= Ho) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ox = ix * stride + kx - pl;
                if (ox < 0 || ox >= Wo) continue;
                out.data[base + oy * Wo + ox] =
                  (out.data[base + oy * Wo + ox] as number) + v * at(w, ci, co, ky, kx);
              }
            }
          }
    }
  return out;
}

/** Nearest-neighbour x2 upsampling. */
export function nearestUp2(x: T4): T4 {
  const [N, C, H, W] = x.shape;
  const out = t4([N, C, 2 * H, 2 * W]);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let y = 0; y < 2 * H; y++)
        for (let xx = 0; xx < 2 * W; xx++)
          out.data[((n * C + c) * 2 * H + y) * 2 * W + xx] = at(x, n, c, y >> 1, xx >> 1);
  return out;
}

/** [A, B, kh, kw] -> [B, A, kh, kw]. */
export function swapInOut(w: T4): T4 {
  const [A, B, kh, kw] = w.shape;
  const out = t4([B, A, kh, kw]);
  for (let a = 0; a < A; a++)
    for (let b = 0; b < B; b++)
      for (let k = 0; k < kh * kw; k++)
        out.data[(b * A + a) * kh * kw + k] = w.data[(a * B + b) * kh * kw + k] as number;
  return out;
}

export function reflectPad(x: T4, p: number): T4 {
  const [N, C, H, W] = x.shape;
  const out = t4([N, C, H + 2 * p, W + 2 * p]);
  const refl = (i: number, n: number) => (i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);
  let o = 0;
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let y = -p; y < H + p; y++)
        for (let xx = -p; xx < W + p; xx++) out.data[o++] = at(x, n, c, refl(y, H), refl(xx, W));
  return out;
}

export function instanceNorm(x: T4, scale: Float64Array, bias: Float64Array, eps: number): T4 {
  const [N, C, H, W] = x.shape;
  const out = t4(x.shape);
  const hw = H * W;
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++) {
      const base = (n * C + c) * hw;
      let mean = 0;
      for (let i = 0; i < hw; i++) mean += x.data[base + i] as number;
      mean /= hw;
      let v = 0;
      for (let i = 0; i < hw; i++) v += ((x.data[base + i] as number) - mean) ** 2;
      v /= hw;
      const r = 1 / Math.sqrt(v + eps);
      for (let i = 0; i < hw; i++)
        out.data[base + i] =
          ((x.data[base + i] as number) - mean) * r * (scale[c] as number) + (bias[c] as number);
    }
  return out;
}

export function map(x: T4, f: (v: number) => number): T4 {
  return { shape: x.shape, data: x.data.map(f) };
}
export function addT(a: T4, b: T4): T4 {
  return { shape: a.shape, data: a.data.map((v, i) => v + (b.data[i] as number)) };
}
const tanh = (x: T4) => map(x, Math.tanh);
const relu = (x: T4) => map(x, (v) => Math.max(v, 0));
const lrelu = (x: T4) => map(x, (v) => (v > 0 ? v : 0.2 * v));

/** Global max pool -> Dense -> softmax. Returns [N*2] logits and probabilities. */
export function classify(
  f: T4,
  w: Float64Array,
  b: Float64Array,
): { logits: number[]; probabilities: number[] } {
  const [N, C, H, W] = f.shape;
  const logits: number[] = [];
  const probabilities: number[] = [];
  for (let n = 0; n < N; n++) {
    const pooled: number[] = [];
    for (let c = 0; c < C; c++) {
      let m = -Infinity;
      for (let i = 0; i < H * W; i++) m = Math.max(m, f.data[(n * C + c) * H * W + i] as number);
      pooled.push(m);
    }
    const z = [0, 1].map((k) => pooled.reduce((s, p, c) => s + p * (w[c * 2 + k] as number), b[k] as number));
    const mx = Math.max(...z);
    const e = z.map((v) => Math.exp(v - mx));
    logits.push(...z);
    probabilities.push(...e.map((v) => v / (e[0]! + e[1]!)));
  }
  return { logits, probabilities };
}

/** TF 'same' padding for a known size. */
function same(n: number, k: number, s: number): [number, number] {
  const total = Math.max((Math.ceil(n / s) - 1) * s + k - n, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

export interface RefOutputs {
  output: T4;
  logits?: number[];
  probabilities?: number[];
  features?: T4;
}

/** Reference forward of any network of the family, with weights named as in models/nets.ts. */
export function referenceForward(
  cfg: NetConfig,
  weights: ReadonlyMap<string, ArrayLike<number>>,
  x: T4,
): RefOutputs {
  const W = (name: string) => {
    const a = weights.get(name);
    if (!a) throw new Error(`reference: missing ${name}`);
    return Float64Array.from(a);
  };
  const wt = (name: string, shape: [number, number, number, number]) => t4(shape, W(name));
  // Operational layer: sum over i of Conv_i(x^i) (+ bias_i), the reference's literal form.
  const oper = (
    name: string,
    input: T4,
    cout: number,
    k: number,
    stride: number,
    padding: 'same' | 'valid',
    bias: boolean,
    q: number,
    plain: boolean,
  ): T4 => {
    const cin = input.shape[1];
    const [pt, pb] = padding === 'same' ? same(input.shape[2], k, stride) : [0, 0];
    const [pl, pr] = padding === 'same' ? same(input.shape[3], k, stride) : [0, 0];
    let acc: T4 | undefined;
    for (let i = 1; i <= q; i++) {
      const p = plain ? name : `${name}.q${i}`;
      const xi = map(input, (v) => v ** i);
      const y = conv2d(xi, wt(`${p}.weight`, [cout, cin, k, k]), bias ? W(`${p}.bias`) : undefined, stride, [
        pt,
        pl,
        pb,
        pr,
      ]);
      acc = acc ? addT(acc, y) : y;
    }
    return acc as T4;
  };
  const operT = (name: string, input: T4, cout: number, bias: boolean, q: number, plain: boolean): T4 => {
    const cin = input.shape[1];
    let acc: T4 | undefined;
    for (let i = 1; i <= q; i++) {
      const p = plain ? name : `${name}.q${i}`;
      const xi = map(input, (v) => v ** i);
      // Resize variant, literally: nearest x2, then a 3x3 'same' conv whose kernel is stored
      // in the transposed layout [in, out, 3, 3].
      const y =
        cfg.upsampling === 'resize'
          ? conv2d(
              nearestUp2(xi),
              swapInOut(wt(`${p}.weight`, [cin, cout, 3, 3])),
              bias ? W(`${p}.bias`) : undefined,
              1,
              [1, 1, 1, 1],
            )
          : convTranspose2d(
              xi,
              wt(`${p}.weight`, [cin, cout, 3, 3]),
              bias ? W(`${p}.bias`) : undefined,
              2,
              [0, 0, 1, 1],
            );
      acc = acc ? addT(acc, y) : y;
    }
    return acc as T4;
  };
  const IN = (name: string, v: T4) => instanceNorm(v, W(`${name}.scale`), W(`${name}.bias`), 1e-3);
  const C = cfg.channels;
  const w = cfg.width;
  const q = cfg.q;
  const cls = (f: T4) => ({ ...classify(f, W('classifier.weight'), W('classifier.bias')), features: f });
  if (cfg.kind === 'operational' && cfg.role === 'generator') {
    const h = IN('enc.norm', oper('enc', x, 2 * w, 3, 2, 'same', false, q, false));
    let r = reflectPad(tanh(h), 1);
    r = tanh(IN('res.norm1', oper('res.conv1', r, 2 * w, 3, 1, 'valid', false, q, false)));
    r = IN('res.norm2', oper('res.conv2', reflectPad(r, 1), 2 * w, 3, 1, 'valid', false, q, false));
    const out = tanh(addT(h, r));
    return { output: tanh(operT('dec', out, C, true, q, false)), ...cls(out) };
  }
  if (cfg.kind === 'operational') {
    let h = lrelu(oper('c1', x, w, 4, 2, 'same', true, q, false));
    h = lrelu(IN('c2.norm', oper('c2', h, 2 * w, 4, 4, 'same', false, q, false)));
    return { output: lrelu(oper('c3', h, 1, 4, 1, 'same', true, q, false)) };
  }
  const conv = (
    name: string,
    v: T4,
    cout: number,
    k: number,
    s: number,
    pad: 'same' | 'valid',
    bias: boolean,
  ) => oper(name, v, cout, k, s, pad, bias, 1, true);
  const res = (name: string, v: T4) => {
    let r = relu(
      IN(`${name}.norm1`, conv(`${name}.conv1`, reflectPad(v, 1), v.shape[1], 3, 1, 'valid', false)),
    );
    r = IN(`${name}.norm2`, conv(`${name}.conv2`, reflectPad(r, 1), v.shape[1], 3, 1, 'valid', false));
    return addT(v, r);
  };
  if (cfg.kind === 'convolutional' && cfg.role === 'generator') {
    let h = relu(IN('stem.norm', conv('stem', reflectPad(x, 3), w, 7, 1, 'valid', false)));
    h = relu(IN('down1.norm', conv('down1', h, 2 * w, 3, 2, 'same', false)));
    h = relu(IN('down2.norm', conv('down2', h, 4 * w, 3, 2, 'same', false)));
    let c: ReturnType<typeof cls> | undefined;
    for (let b = 1; b <= 9; b++) {
      h = res(`res${b}`, h);
      if (b === 5) c = cls(h);
    }
    h = relu(IN('up1.norm', operT('up1', h, 2 * w, false, 1, true)));
    h = relu(IN('up2.norm', operT('up2', h, w, false, 1, true)));
    const out = tanh(conv('head', reflectPad(h, 3), C, 7, 1, 'valid', true));
    return { output: out, ...c };
  }
  if (cfg.kind === 'convolutional') {
    let h = lrelu(conv('c1', x, w, 4, 2, 'same', true));
    h = lrelu(IN('c2.norm', conv('c2', h, 2 * w, 4, 2, 'same', false)));
    h = lrelu(IN('c3.norm', conv('c3', h, 4 * w, 4, 2, 'same', false)));
    h = lrelu(IN('c4.norm', conv('c4', h, 8 * w, 4, 1, 'same', false)));
    return { output: conv('c5', h, 1, 4, 1, 'same', true) };
  }
  if (cfg.role === 'generator') {
    let h = relu(IN('enc.norm', conv('enc', x, 2 * w, 3, 2, 'same', false)));
    h = res('res', h);
    return { output: tanh(operT('dec', h, C, true, 1, true)), ...cls(h) };
  }
  let h = lrelu(conv('c1', x, w, 4, 2, 'same', true));
  h = lrelu(IN('c2.norm', conv('c2', h, 2 * w, 4, 4, 'same', false)));
  return { output: conv('c3', h, 1, 4, 1, 'same', true) };
}
