// The R2C-GAN network family (reference: Ahishali et al., meteahishali/R2C-GAN module.py), one
// definition per network that emits graph nodes; the same definition serves inference export and
// training graphs. Layout is NCHW; Conv weights are [out, in, kh, kw], ConvTranspose [in, out, kh, kw],
// Dense [in, out]. Parameter names are stable: checkpoints and exported models use them.
import { type Dim, type Graph, type Value, samePads } from './graph.ts';

export type ArchKind = 'operational' | 'convolutional' | 'convolutional-light';
export type NetRole = 'generator' | 'discriminator';
/**
 * How a generator upsamples x2. 'transposed': the reference's 3x3 stride-2 transposed (operational)
 * convolution. 'resize': nearest-neighbour x2 then a 3x3 (operational) convolution, same parameters
 * (Odena et al. 2016): every output phase sees the whole kernel, so it adds no checkerboard texture.
 */
export type Upsampling = 'transposed' | 'resize';
export const UPSAMPLINGS: readonly Upsampling[] = ['transposed', 'resize'];

export interface NetConfig {
  kind: ArchKind;
  role: NetRole;
  /** Order of the operational layers (operational kind only): 1, 2 or 3. */
  q: number;
  /** Image channels (grayscale: 1). */
  channels: number;
  /** Base width; the reference uses 64 (generators then run at 2*64 = 128 after the first layer). */
  width: number;
  /** Generators' x2 upsampling; absent (models made before the option) means 'transposed'. */
  upsampling?: Upsampling;
}

export interface ParamSpec {
  name: string;
  shape: number[];
  init: 'glorot' | 'zeros' | 'ones';
  fanIn: number;
  fanOut: number;
}

export interface NetOutputs {
  /** Generator: restored/translated image in [-1, 1]. Discriminator: patch scores. */
  output: Value;
  /** Generator only: class logits [N,2], softmax probabilities [N,2] and the pooled feature maps. */
  logits?: Value;
  probabilities?: Value;
  features?: Value;
}

/** Instance-norm implementation hook: lets an export pass in externally computed statistics. */
export type NormFn = (name: string, x: Value, scale: Value, bias: Value, epsilon: number) => Value;

export interface BuildContext {
  g: Graph;
  /** Resolves one of this network's parameters (graph input or initializer). */
  param(name: string): Value;
  norm?: NormFn;
}

export interface Network {
  config: NetConfig;
  params: ParamSpec[];
  forward(ctx: BuildContext, x: Value): NetOutputs;
}

/** tfa.layers.InstanceNormalization default epsilon, as in the reference. */
export const IN_EPSILON = 1e-3;
export const LEAKY_ALPHA = 0.2;
export const CLASS_NAMES = ['normal', 'COVID-19'] as const;

// ---- parameter declaration + node emission helpers ----

class Layers {
  readonly params: ParamSpec[] = [];
  constructor(private readonly q: number) {}

  private add(name: string, shape: number[], init: ParamSpec['init'], fanIn = 0, fanOut = 0): void {
    this.params.push({ name, shape, init, fanIn, fanOut });
  }
  /** Declares an operational layer (q kernels named `name.qI`) or, with opts.q = 1, a plain conv `name`. */
  conv(name: string, cin: number, cout: number, k: number, bias: boolean, opts: { q?: number } = {}): void {
    const q = opts.q ?? this.q;
    for (let i = 1; i <= q; i++) {
      const p = q === 1 && opts.q === 1 ? name : `${name}.q${i}`;
      this.add(`${p}.weight`, [cout, cin, k, k], 'glorot', cin * k * k, cout * k * k);
      if (bias) this.add(`${p}.bias`, [cout], 'zeros');
    }
  }
  convT(name: string, cin: number, cout: number, k: number, bias: boolean, opts: { q?: number } = {}): void {
    const q = opts.q ?? this.q;
    for (let i = 1; i <= q; i++) {
      const p = q === 1 && opts.q === 1 ? name : `${name}.q${i}`;
      this.add(`${p}.weight`, [cin, cout, k, k], 'glorot', cout * k * k, cin * k * k);
      if (bias) this.add(`${p}.bias`, [cout], 'zeros');
    }
  }
  norm(name: string, c: number): void {
    this.add(`${name}.scale`, [c], 'ones');
    this.add(`${name}.bias`, [c], 'zeros');
  }
  dense(name: string, cin: number, cout: number): void {
    this.add(`${name}.weight`, [cin, cout], 'glorot', cin, cout);
    this.add(`${name}.bias`, [cout], 'zeros');
  }
}

function padsFor(d: Dim, k: number, s: number): [number, number] {
  // For a symbolic size, assume it is divisible by the stride (checked at run time by the caller).
  return typeof d === 'number' ? samePads(d, k, s) : samePads(s * 16, k, s);
}

interface ConvSpec {
  /** q = 1 with plain: true gives a plain conv named `name.weight`. */
  plain: boolean;
  q: number;
  k: number;
  stride: number;
  padding: 'same' | 'valid';
  bias: boolean;
}

/**
 * Operational layer: one (transposed) Conv over Concat([x, x^2, .., x^q]) with the q kernels
 * concatenated along the kernel's input-channel axis (1 for Conv [out,in,..], 0 for ConvTranspose).
 */
function operationalOperands(ctx: BuildContext, name: string, x: Value, s: ConvSpec, inAxis: 0 | 1) {
  const { g } = ctx;
  const prefixes = s.plain ? [name] : Array.from({ length: s.q }, (_, i) => `${name}.q${i + 1}`);
  const single = prefixes.length === 1;
  const w = single
    ? ctx.param(`${prefixes[0]}.weight`)
    : g.concat(
        prefixes.map((p) => ctx.param(`${p}.weight`)),
        inAxis,
      );
  const xin = single ? x : g.concat(powers(g, x, prefixes.length), 1);
  const bias = s.bias
    ? sumParams(
        ctx,
        prefixes.map((p) => `${p}.bias`),
      )
    : undefined;
  return { xin, w, bias };
}

function emitConv(ctx: BuildContext, name: string, x: Value, s: ConvSpec): Value {
  const { xin, w, bias } = operationalOperands(ctx, name, x, s, 1);
  let pads = [0, 0, 0, 0];
  if (s.padding === 'same') {
    const [t, b] = padsFor(x.shape[2] as Dim, s.k, s.stride);
    const [l, r] = padsFor(x.shape[3] as Dim, s.k, s.stride);
    pads = [t, l, b, r];
  }
  return ctx.g.conv(xin, w, bias, { strides: [s.stride, s.stride], pads });
}

/** Keras Conv2DTranspose(k=3, stride 2, 'same'): output = 2x input; pads [0,0,1,1] in ONNX. */
function emitConvT(ctx: BuildContext, name: string, x: Value, s: ConvSpec): Value {
  const { xin, w, bias } = operationalOperands(ctx, name, x, s, 0);
  const total = Math.max(s.k - s.stride, 0);
  const before = Math.floor(total / 2);
  return ctx.g.convTranspose(xin, w, bias, {
    strides: [s.stride, s.stride],
    pads: [before, before, total - before, total - before],
  });
}

/**
 * Maps a 3-tap kernel on the nearest-x2 upsampled grid to the 4-tap stride-2 transposed kernel (pads
 * 1, 1) that computes the same function on the low-resolution map: output Y gets input y through
 * tap Y - 2y + 1 in {0..3}, which sums the 3x3 taps i with floor((Y + i - 1) / 2) = y. Computing the
 * resize-conv this way costs a 4x4 transposed conv at low resolution instead of a 3x3 conv over a
 * 4x larger (q-power-stacked) map.
 */
export const RESIZE_TAPS: readonly (readonly number[])[] = [
  [0, 0, 1],
  [0, 1, 1],
  [1, 1, 0],
  [1, 0, 0],
];

/** [9, 16] matrix: a row-major 3x3 resize-conv kernel times it = the row-major 4x4 transposed kernel. */
export function resizeKernelMatrix(): Float32Array {
  const m = new Float32Array(9 * 16);
  for (let a = 0; a < 4; a++)
    for (let b = 0; b < 4; b++)
      for (let i = 0; i < 3; i++)
        for (let j = 0; j < 3; j++)
          m[(i * 3 + j) * 16 + a * 4 + b] = (RESIZE_TAPS[a]?.[i] ?? 0) * (RESIZE_TAPS[b]?.[j] ?? 0);
  return m;
}

/**
 * Nearest x2 + 3x3 'same' conv with the kernel stored in transposed-conv layout [in, out, 3, 3]
 * (as the reference's decoder, so both variants have identical parameters).
 */
function emitResizeConv(ctx: BuildContext, name: string, x: Value, s: ConvSpec): Value {
  const { g } = ctx;
  if (s.k !== 3 || s.stride !== 2) throw new Error(`resize upsampling supports 3x3 x2 only (${name})`);
  const { xin, w, bias } = operationalOperands(ctx, name, x, s, 0);
  const [cin, cout] = w.shape as [number, number];
  const flat = g.reshape(w, [cin * cout, 9]);
  const k4 = g.reshape(g.matMul(flat, g.constant(resizeKernelMatrix(), [9, 16])), [cin, cout, 4, 4]);
  return g.convTranspose(xin, k4, bias, { strides: [2, 2], pads: [1, 1, 1, 1] });
}

function emitUpsample(ctx: BuildContext, name: string, x: Value, s: ConvSpec, up?: Upsampling): Value {
  return up === 'resize' ? emitResizeConv(ctx, name, x, s) : emitConvT(ctx, name, x, s);
}

/**
 * Converts a trained 3x3 stride-2 transposed kernel to the resize-conv kernel closest to it (least
 * squares over the 4x4 kernels both produce), so a transposed model can start a resize fine-tune.
 * `k3` holds whole [in, out, 3, 3] kernels.
 */
export function transposedToResizeKernel(k3: Float32Array): Float32Array {
  // E (4x4) = K3 shifted by one tap (transposed pads [0,0,1,1] vs [1,1,1,1]); W = M+ E M+^T.
  const M = RESIZE_TAPS;
  const mtm = [0, 1, 2].map((r) =>
    [0, 1, 2].map((c) => M.reduce((acc, row) => acc + (row[r] ?? 0) * (row[c] ?? 0), 0)),
  );
  const inv = invert3(mtm);
  const pinv: number[][] = [0, 1, 2].map((r) =>
    [0, 1, 2, 3].map((c) => [0, 1, 2].reduce((acc, k) => acc + (inv[r]?.[k] ?? 0) * (M[c]?.[k] ?? 0), 0)),
  );
  const out = new Float32Array(k3.length);
  for (let base = 0; base < k3.length; base += 9) {
    const e = (a: number, b: number) => (a === 0 || b === 0 ? 0 : (k3[base + (a - 1) * 3 + (b - 1)] ?? 0));
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) {
        let acc = 0;
        for (let a = 0; a < 4; a++)
          for (let b = 0; b < 4; b++) acc += (pinv[i]?.[a] ?? 0) * e(a, b) * (pinv[j]?.[b] ?? 0);
        out[base + i * 3 + j] = acc;
      }
  }
  return out;
}

function invert3(m: number[][]): number[][] {
  const [a, b, c] = m.map((r) => r.slice()) as [number[], number[], number[]];
  const det =
    a[0]! * (b[1]! * c[2]! - b[2]! * c[1]!) -
    a[1]! * (b[0]! * c[2]! - b[2]! * c[0]!) +
    a[2]! * (b[0]! * c[1]! - b[1]! * c[0]!);
  const cof = (r1: number[], r2: number[], i: number, j: number) => r1[i]! * r2[j]! - r1[j]! * r2[i]!;
  return [
    [cof(b, c, 1, 2) / det, -cof(a, c, 1, 2) / det, cof(a, b, 1, 2) / det],
    [-cof(b, c, 0, 2) / det, cof(a, c, 0, 2) / det, -cof(a, b, 0, 2) / det],
    [cof(b, c, 0, 1) / det, -cof(a, c, 0, 1) / det, cof(a, b, 0, 1) / det],
  ];
}

function powers(g: Graph, x: Value, q: number): Value[] {
  const out = [x];
  for (let i = 2; i <= q; i++) out.push(i === 2 ? g.mul(x, x) : g.pow(x, i));
  return out;
}

function sumParams(ctx: BuildContext, names: string[]): Value {
  let acc = ctx.param(names[0] as string);
  for (const n of names.slice(1)) acc = ctx.g.add(acc, ctx.param(n));
  return acc;
}

function norm(ctx: BuildContext, name: string, x: Value): Value {
  const scale = ctx.param(`${name}.scale`);
  const bias = ctx.param(`${name}.bias`);
  return ctx.norm
    ? ctx.norm(name, x, scale, bias, IN_EPSILON)
    : ctx.g.instanceNorm(x, scale, bias, IN_EPSILON);
}

/** Global max pool -> Dense(2) -> softmax; pooled with ReduceMax (same result, float64-capable). */
function classifier(
  ctx: BuildContext,
  features: Value,
): Pick<NetOutputs, 'logits' | 'probabilities' | 'features'> {
  const { g } = ctx;
  const pooled = g.reduceMax(features, [2, 3], false);
  const logits = g.add(g.matMul(pooled, ctx.param('classifier.weight')), ctx.param('classifier.bias'));
  return { logits, probabilities: g.softmax(logits, 1), features };
}

const defaults = { q: 3, channels: 1, width: 64 };

function config(kind: ArchKind, role: NetRole, o: Partial<Omit<NetConfig, 'kind' | 'role'>>): NetConfig {
  const c = { kind, role, ...defaults, ...o };
  if (kind !== 'operational') c.q = 1;
  if (!Number.isInteger(c.q) || c.q < 1 || c.q > 3)
    throw new Error(`operational order q must be 1, 2 or 3, got ${c.q}`);
  if (!Number.isInteger(c.width) || c.width < 1)
    throw new Error(`width must be a positive integer, got ${c.width}`);
  if (!Number.isInteger(c.channels) || c.channels < 1) throw new Error(`channels must be a positive integer`);
  if (c.upsampling !== undefined && !UPSAMPLINGS.includes(c.upsampling))
    throw new Error(`upsampling must be one of ${UPSAMPLINGS.join(', ')}, got ${String(c.upsampling)}`);
  // The reference variant is the absent field, so configs (and exported model metadata) of
  // transposed models read exactly as before the option existed.
  if (c.upsampling !== 'resize' || role === 'discriminator') delete c.upsampling;
  return c;
}

export type NetOptions = Partial<Pick<NetConfig, 'q' | 'channels' | 'width' | 'upsampling'>>;

/** Operational generator (the paper's main model). */
export function operationalGenerator(o: NetOptions = {}): Network {
  const cfg = config('operational', 'generator', o);
  const { q, channels: C } = cfg;
  const dim = 2 * cfg.width;
  const L = new Layers(q);
  L.conv('enc', C, dim, 3, false);
  L.norm('enc.norm', dim);
  L.conv('res.conv1', dim, dim, 3, false);
  L.norm('res.norm1', dim);
  L.conv('res.conv2', dim, dim, 3, false);
  L.norm('res.norm2', dim);
  L.dense('classifier', dim, 2);
  L.convT('dec', dim, C, 3, true);
  const op = (k: number, stride: number, padding: 'same' | 'valid', bias: boolean): ConvSpec => ({
    plain: false,
    q,
    k,
    stride,
    padding,
    bias,
  });
  return {
    config: cfg,
    params: L.params,
    forward(ctx, x) {
      const { g } = ctx;
      let h = norm(ctx, 'enc.norm', emitConv(ctx, 'enc', x, op(3, 2, 'same', false)));
      // Residual block: the skip adds the block input h (before its tanh).
      let r = g.reflectPad2d(g.tanh(h), 1);
      r = g.tanh(norm(ctx, 'res.norm1', emitConv(ctx, 'res.conv1', r, op(3, 1, 'valid', false))));
      r = g.reflectPad2d(r, 1);
      r = norm(ctx, 'res.norm2', emitConv(ctx, 'res.conv2', r, op(3, 1, 'valid', false)));
      h = g.tanh(g.add(h, r));
      const cls = classifier(ctx, h);
      const output = g.tanh(emitUpsample(ctx, 'dec', h, op(3, 2, 'same', true), cfg.upsampling));
      return { output, ...cls };
    },
  };
}

/** Operational discriminator (patch output). */
export function operationalDiscriminator(o: NetOptions = {}): Network {
  const cfg = config('operational', 'discriminator', o);
  const { q, channels: C, width: w } = cfg;
  const L = new Layers(q);
  L.conv('c1', C, w, 4, true);
  L.conv('c2', w, 2 * w, 4, false);
  L.norm('c2.norm', 2 * w);
  L.conv('c3', 2 * w, 1, 4, true);
  const op = (stride: number, bias: boolean): ConvSpec => ({
    plain: false,
    q,
    k: 4,
    stride,
    padding: 'same',
    bias,
  });
  return {
    config: cfg,
    params: L.params,
    forward(ctx, x) {
      const { g } = ctx;
      let h = g.leakyRelu(emitConv(ctx, 'c1', x, op(2, true)), LEAKY_ALPHA);
      h = g.leakyRelu(norm(ctx, 'c2.norm', emitConv(ctx, 'c2', h, op(4, false))), LEAKY_ALPHA);
      h = g.leakyRelu(emitConv(ctx, 'c3', h, op(1, true)), LEAKY_ALPHA);
      return { output: h };
    },
  };
}

const plain = (k: number, stride: number, padding: 'same' | 'valid', bias: boolean): ConvSpec => ({
  plain: true,
  q: 1,
  k,
  stride,
  padding,
  bias,
});

/** CycleGAN ResNet generator with 9 residual blocks, class branch after the 5th. */
export function cnnGenerator(o: NetOptions = {}): Network {
  const cfg = config('convolutional', 'generator', o);
  const { channels: C, width: w } = cfg;
  const L = new Layers(1);
  const one = { q: 1 };
  L.conv('stem', C, w, 7, false, one);
  L.norm('stem.norm', w);
  L.conv('down1', w, 2 * w, 3, false, one);
  L.norm('down1.norm', 2 * w);
  L.conv('down2', 2 * w, 4 * w, 3, false, one);
  L.norm('down2.norm', 4 * w);
  for (let b = 1; b <= 9; b++) {
    L.conv(`res${b}.conv1`, 4 * w, 4 * w, 3, false, one);
    L.norm(`res${b}.norm1`, 4 * w);
    L.conv(`res${b}.conv2`, 4 * w, 4 * w, 3, false, one);
    L.norm(`res${b}.norm2`, 4 * w);
  }
  L.dense('classifier', 4 * w, 2);
  L.convT('up1', 4 * w, 2 * w, 3, false, one);
  L.norm('up1.norm', 2 * w);
  L.convT('up2', 2 * w, w, 3, false, one);
  L.norm('up2.norm', w);
  L.conv('head', w, C, 7, true, one);
  return {
    config: cfg,
    params: L.params,
    forward(ctx, x) {
      const { g } = ctx;
      let h = g.reflectPad2d(x, 3);
      h = g.relu(norm(ctx, 'stem.norm', emitConv(ctx, 'stem', h, plain(7, 1, 'valid', false))));
      h = g.relu(norm(ctx, 'down1.norm', emitConv(ctx, 'down1', h, plain(3, 2, 'same', false))));
      h = g.relu(norm(ctx, 'down2.norm', emitConv(ctx, 'down2', h, plain(3, 2, 'same', false))));
      let cls: ReturnType<typeof classifier> | undefined;
      for (let b = 1; b <= 9; b++) {
        h = resBlockRelu(ctx, `res${b}`, h);
        if (b === 5) cls = classifier(ctx, h);
      }
      const up = cfg.upsampling;
      h = g.relu(norm(ctx, 'up1.norm', emitUpsample(ctx, 'up1', h, plain(3, 2, 'same', false), up)));
      h = g.relu(norm(ctx, 'up2.norm', emitUpsample(ctx, 'up2', h, plain(3, 2, 'same', false), up)));
      h = g.reflectPad2d(h, 3);
      const output = g.tanh(emitConv(ctx, 'head', h, plain(7, 1, 'valid', true)));
      return { output, ...cls };
    },
  };
}

function resBlockRelu(ctx: BuildContext, name: string, x: Value): Value {
  const { g } = ctx;
  let h = g.reflectPad2d(x, 1);
  h = g.relu(norm(ctx, `${name}.norm1`, emitConv(ctx, `${name}.conv1`, h, plain(3, 1, 'valid', false))));
  h = g.reflectPad2d(h, 1);
  h = norm(ctx, `${name}.norm2`, emitConv(ctx, `${name}.conv2`, h, plain(3, 1, 'valid', false)));
  return g.add(x, h);
}

/** PatchGAN discriminator (3 downsamplings). */
export function cnnDiscriminator(o: NetOptions = {}): Network {
  const cfg = config('convolutional', 'discriminator', o);
  const { channels: C, width: w } = cfg;
  const L = new Layers(1);
  const one = { q: 1 };
  L.conv('c1', C, w, 4, true, one);
  L.conv('c2', w, 2 * w, 4, false, one);
  L.norm('c2.norm', 2 * w);
  L.conv('c3', 2 * w, 4 * w, 4, false, one);
  L.norm('c3.norm', 4 * w);
  L.conv('c4', 4 * w, 8 * w, 4, false, one);
  L.norm('c4.norm', 8 * w);
  L.conv('c5', 8 * w, 1, 4, true, one);
  return {
    config: cfg,
    params: L.params,
    forward(ctx, x) {
      const { g } = ctx;
      const a = LEAKY_ALPHA;
      let h = g.leakyRelu(emitConv(ctx, 'c1', x, plain(4, 2, 'same', true)), a);
      h = g.leakyRelu(norm(ctx, 'c2.norm', emitConv(ctx, 'c2', h, plain(4, 2, 'same', false))), a);
      h = g.leakyRelu(norm(ctx, 'c3.norm', emitConv(ctx, 'c3', h, plain(4, 2, 'same', false))), a);
      h = g.leakyRelu(norm(ctx, 'c4.norm', emitConv(ctx, 'c4', h, plain(4, 1, 'same', false))), a);
      return { output: emitConv(ctx, 'c5', h, plain(4, 1, 'same', true)) };
    },
  };
}

/** Compact CNN generator ('convolutional-light'). */
export function compactGenerator(o: NetOptions = {}): Network {
  const cfg = config('convolutional-light', 'generator', o);
  const { channels: C } = cfg;
  const dim = 2 * cfg.width;
  const L = new Layers(1);
  const one = { q: 1 };
  L.conv('enc', C, dim, 3, false, one);
  L.norm('enc.norm', dim);
  L.conv('res.conv1', dim, dim, 3, false, one);
  L.norm('res.norm1', dim);
  L.conv('res.conv2', dim, dim, 3, false, one);
  L.norm('res.norm2', dim);
  L.dense('classifier', dim, 2);
  L.convT('dec', dim, C, 3, true, one);
  return {
    config: cfg,
    params: L.params,
    forward(ctx, x) {
      const { g } = ctx;
      let h = g.relu(norm(ctx, 'enc.norm', emitConv(ctx, 'enc', x, plain(3, 2, 'same', false))));
      h = resBlockRelu(ctx, 'res', h);
      const cls = classifier(ctx, h);
      const output = g.tanh(emitUpsample(ctx, 'dec', h, plain(3, 2, 'same', true), cfg.upsampling));
      return { output, ...cls };
    },
  };
}

/** Compact CNN discriminator: no activation after the last conv. */
export function compactDiscriminator(o: NetOptions = {}): Network {
  const cfg = config('convolutional-light', 'discriminator', o);
  const { channels: C, width: w } = cfg;
  const L = new Layers(1);
  const one = { q: 1 };
  L.conv('c1', C, w, 4, true, one);
  L.conv('c2', w, 2 * w, 4, false, one);
  L.norm('c2.norm', 2 * w);
  L.conv('c3', 2 * w, 1, 4, true, one);
  return {
    config: cfg,
    params: L.params,
    forward(ctx, x) {
      const { g } = ctx;
      let h = g.leakyRelu(emitConv(ctx, 'c1', x, plain(4, 2, 'same', true)), LEAKY_ALPHA);
      h = g.leakyRelu(norm(ctx, 'c2.norm', emitConv(ctx, 'c2', h, plain(4, 4, 'same', false))), LEAKY_ALPHA);
      return { output: emitConv(ctx, 'c3', h, plain(4, 1, 'same', true)) };
    },
  };
}

/** The network a config describes (used to rebuild from checkpoints and model metadata). */
export function networkFromConfig(c: NetConfig): Network {
  const o: NetOptions = { q: c.q, channels: c.channels, width: c.width };
  if (c.upsampling) o.upsampling = c.upsampling;
  const table = {
    operational: [operationalGenerator, operationalDiscriminator],
    convolutional: [cnnGenerator, cnnDiscriminator],
    'convolutional-light': [compactGenerator, compactDiscriminator],
  } as const;
  const pair = table[c.kind];
  if (!pair) throw new Error(`unknown architecture kind ${String(c.kind)}`);
  return (c.role === 'generator' ? pair[0] : pair[1])(o);
}

/** The generator/discriminator pair of one R2C-GAN variant. */
export function r2cGanNetworks(
  kind: ArchKind,
  o: NetOptions = {},
): { generator: Network; discriminator: Network } {
  const g = networkFromConfig(config(kind, 'generator', o));
  const d = networkFromConfig(config(kind, 'discriminator', o));
  return { generator: g, discriminator: d };
}

export function parameterCount(net: Network): number {
  return net.params.reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
}

/** Spatial size divisor the network needs (stride product) so 'same' padding stays exact. */
export function sizeMultiple(net: Network): number {
  const c = net.config;
  if (c.role === 'generator') return c.kind === 'convolutional' ? 4 : 2;
  return 8;
}

// ---- weights ----

export type WeightMap = Map<string, Float32Array>;

/** Deterministic PRNG (mulberry32) so initialisations are reproducible from a seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Keras defaults: glorot-uniform kernels, zero biases, unit IN scale. */
export function initWeights(net: Network, seed: number): WeightMap {
  const rand = seededRandom(seed);
  const w: WeightMap = new Map();
  for (const p of net.params) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    const arr = new Float32Array(n);
    if (p.init === 'ones') arr.fill(1);
    else if (p.init === 'glorot') {
      const limit = Math.sqrt(6 / (p.fanIn + p.fanOut));
      for (let i = 0; i < n; i++) arr[i] = (rand() * 2 - 1) * limit;
    }
    w.set(p.name, arr);
  }
  return w;
}

/** Checks that `weights` has exactly the parameters of `net` with the right sizes. */
export function checkWeights(net: Network, weights: WeightMap, what = 'weights'): void {
  for (const p of net.params) {
    const a = weights.get(p.name);
    const n = p.shape.reduce((x, y) => x * y, 1);
    if (!a) throw new Error(`${what}: parameter ${p.name} is missing`);
    if (a.length !== n) throw new Error(`${what}: parameter ${p.name} has ${a.length} values, expected ${n}`);
  }
}
