// A small typed ONNX graph builder. Every op records its static (or symbolic) output shape so the
// autodiff in autodiff.ts can emit exact backward nodes; serialisation goes through onnx-buf.
// We build our own instead of exporting from a framework because no framework that trains runs in
// plain Node offline (see models/DESIGN.md); the builder only needs the ~30 ops R2C-GAN uses.
import { create, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema,
  TensorProto_DataType,
  TensorProtoSchema,
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  ValueInfoProtoSchema,
} from 'onnx-buf';
import type { AttributeProto, NodeProto, TensorProto, ValueInfoProto } from 'onnx-buf';

export const OPSET = 17;
export type FloatType = 'float32' | 'float64';
export type DType = FloatType | 'int64' | 'bool';
/** A dimension: a number when known when the graph is built, else a symbolic name such as 'N'. */
export type Dim = number | string;

export interface Value {
  readonly id: number;
  readonly name: string;
  readonly shape: readonly Dim[];
  readonly dtype: DType;
}

export type Attr =
  | { i: number }
  | { f: number }
  | { ints: readonly number[] }
  | { floats: readonly number[] }
  | { s: string };

export interface GraphNode {
  readonly op: string;
  readonly inputs: readonly Value[];
  readonly outputs: readonly Value[];
  readonly attrs: Readonly<Record<string, Attr>>;
  /** Static operands (exponents, slice bounds, pads, axes) the autodiff needs; not serialised. */
  readonly meta: NodeMeta;
}

export interface NodeMeta {
  p?: number;
  starts?: readonly number[];
  ends?: readonly number[];
  axes?: readonly number[];
  steps?: readonly number[];
  pads?: readonly number[];
  mode?: string;
  keepdims?: boolean;
}

export interface ConvOptions {
  strides?: readonly number[];
  /** ONNX order: [top, left, bottom, right]. */
  pads?: readonly number[];
  dilations?: readonly number[];
}
export interface ConvTransposeOptions extends ConvOptions {
  outputPadding?: readonly number[];
}

type TypedData = Float32Array | Float64Array | BigInt64Array | Uint8Array;
interface Initializer {
  value: Value;
  data: TypedData;
}

export function isStatic(shape: readonly Dim[]): shape is readonly number[] {
  return shape.every((d) => typeof d === 'number');
}
export function staticShape(v: Value): number[] {
  if (!isStatic(v.shape)) throw new Error(`${v.name} has a symbolic shape [${v.shape.join(',')}]`);
  return [...v.shape];
}
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function dimExpr(d: Dim, f: (n: number) => number, label: string): Dim {
  return typeof d === 'number' ? f(d) : `${label}(${d})`;
}
function dimAdd(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  return `${a}+${b}`;
}

/** Output size of a strided window op along one axis (Conv/Pool). */
export function convOutSize(
  input: number,
  kernel: number,
  stride: number,
  padBegin: number,
  padEnd: number,
  dilation = 1,
): number {
  return Math.floor((input + padBegin + padEnd - ((kernel - 1) * dilation + 1)) / stride) + 1;
}

/** TensorFlow/Keras 'same' padding for a known input size: [before, after]. */
export function samePads(input: number, kernel: number, stride: number): [number, number] {
  const out = Math.ceil(input / stride);
  const total = Math.max((out - 1) * stride + kernel - input, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

function broadcastShapes(a: readonly Dim[], b: readonly Dim[]): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da === 1) out.push(db);
    else if (db === 1 || da === db) out.push(da);
    else if (typeof da === 'string' || typeof db === 'string') out.push(typeof da === 'string' ? da : db);
    else throw new Error(`cannot broadcast [${a.join(',')}] with [${b.join(',')}]`);
  }
  return out;
}

function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

export class Graph {
  readonly nodes: GraphNode[] = [];
  readonly inputs: Value[] = [];
  readonly initializers: Initializer[] = [];
  private nextId = 0;
  private readonly names = new Set<string>();

  /** `dtype` is the float type of constants the ops create (float64 for gradient checks). */
  constructor(readonly dtype: FloatType = 'float32') {}

  private newValue(shape: readonly Dim[], dtype: DType, name?: string): Value {
    const id = this.nextId++;
    let n = name ?? `t${id}`;
    if (this.names.has(n)) n = `${n}__${id}`;
    this.names.add(n);
    return { id, name: n, shape: [...shape], dtype };
  }

  private node(
    op: string,
    inputs: Value[],
    outShape: readonly Dim[],
    outType: DType,
    attrs: Record<string, Attr> = {},
    meta: NodeMeta = {},
  ): Value {
    const out = this.newValue(outShape, outType);
    this.nodes.push({ op, inputs, outputs: [out], attrs, meta });
    return out;
  }

  input(name: string, shape: readonly Dim[], dtype: DType = this.dtype): Value {
    if (this.names.has(name)) throw new Error(`duplicate graph input name ${name}`);
    const v = this.newValue(shape, dtype, name);
    this.inputs.push(v);
    return v;
  }

  /** A constant tensor stored as an initializer. */
  constant(
    data: ArrayLike<number> | TypedData,
    shape: readonly number[],
    dtype: DType = this.dtype,
    name?: string,
  ): Value {
    if (sizeOf(shape) !== data.length)
      throw new Error(`constant ${name ?? ''}: ${data.length} values for shape [${shape.join(',')}]`);
    const v = this.newValue(shape, dtype, name);
    let typed: TypedData;
    if (dtype === 'float32')
      typed = data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
    else if (dtype === 'float64')
      typed = data instanceof Float64Array ? data : Float64Array.from(data as ArrayLike<number>);
    else if (dtype === 'int64')
      typed = BigInt64Array.from(Array.from(data as ArrayLike<number>, (x) => BigInt(Math.trunc(Number(x)))));
    else typed = Uint8Array.from(data as ArrayLike<number>);
    this.initializers.push({ value: v, data: typed });
    return v;
  }
  scalar(x: number, rank = 0): Value {
    return this.constant([x], new Array(rank).fill(1));
  }
  ints(xs: readonly number[]): Value {
    return this.constant(xs, [xs.length], 'int64');
  }

  // ---- element-wise ----
  private binary(op: string, a: Value, b: Value, outType?: DType): Value {
    return this.node(op, [a, b], broadcastShapes(a.shape, b.shape), outType ?? a.dtype);
  }
  add(a: Value, b: Value): Value {
    return this.binary('Add', a, b);
  }
  sub(a: Value, b: Value): Value {
    return this.binary('Sub', a, b);
  }
  mul(a: Value, b: Value): Value {
    return this.binary('Mul', a, b);
  }
  div(a: Value, b: Value): Value {
    return this.binary('Div', a, b);
  }
  max2(a: Value, b: Value): Value {
    return this.binary('Max', a, b);
  }
  min2(a: Value, b: Value): Value {
    return this.binary('Min', a, b);
  }
  greater(a: Value, b: Value): Value {
    return this.binary('Greater', a, b, 'bool');
  }
  equal(a: Value, b: Value): Value {
    return this.binary('Equal', a, b, 'bool');
  }
  where(cond: Value, a: Value, b: Value): Value {
    return this.node(
      'Where',
      [cond, a, b],
      broadcastShapes(cond.shape, broadcastShapes(a.shape, b.shape)),
      a.dtype,
    );
  }
  cast(x: Value, to: DType): Value {
    return this.node('Cast', [x], x.shape, to, { to: { i: onnxType(to) } });
  }
  /** x^p for a constant exponent p (element-wise). */
  pow(x: Value, p: number): Value {
    return this.node('Pow', [x, this.scalar(p)], x.shape, x.dtype, {}, { p });
  }
  private unary(op: string, x: Value, attrs: Record<string, Attr> = {}): Value {
    return this.node(op, [x], x.shape, x.dtype, attrs);
  }
  tanh(x: Value): Value {
    return this.unary('Tanh', x);
  }
  relu(x: Value): Value {
    return this.unary('Relu', x);
  }
  leakyRelu(x: Value, alpha: number): Value {
    return this.unary('LeakyRelu', x, { alpha: { f: alpha } });
  }
  abs(x: Value): Value {
    return this.unary('Abs', x);
  }
  sign(x: Value): Value {
    return this.unary('Sign', x);
  }
  neg(x: Value): Value {
    return this.unary('Neg', x);
  }
  sqrt(x: Value): Value {
    return this.unary('Sqrt', x);
  }
  exp(x: Value): Value {
    return this.unary('Exp', x);
  }
  identity(x: Value): Value {
    return this.unary('Identity', x);
  }
  softmax(x: Value, axis = -1): Value {
    return this.unary('Softmax', x, { axis: { i: axis } });
  }
  logSoftmax(x: Value, axis = -1): Value {
    return this.unary('LogSoftmax', x, { axis: { i: axis } });
  }

  // ---- layout ----
  concat(xs: readonly Value[], axis: number): Value {
    const first = xs[0];
    if (!first) throw new Error('concat of nothing');
    const ax = normAxis(axis, first.shape.length);
    const shape = [...first.shape];
    let total: Dim = 0;
    for (const x of xs) total = dimAdd(total, x.shape[ax] as Dim);
    shape[ax] = total;
    return this.node('Concat', [...xs], shape, first.dtype, { axis: { i: ax } });
  }
  /** Slice with static starts/ends (ends clamp like ONNX) along `axes`. */
  slice(
    x: Value,
    starts: readonly number[],
    ends: readonly number[],
    axes: readonly number[],
    steps?: readonly number[],
  ): Value {
    const shape = [...x.shape];
    axes.forEach((a, i) => {
      const ax = normAxis(a, shape.length);
      const d = shape[ax] as Dim;
      const step = steps?.[i] ?? 1;
      if (typeof d !== 'number') {
        shape[ax] = `slice(${d})`;
        return;
      }
      const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + d : v, lo), hi);
      const s = step > 0 ? clamp(starts[i] as number, 0, d) : clamp(starts[i] as number, 0, d - 1);
      const e = step > 0 ? clamp(ends[i] as number, 0, d) : clamp(ends[i] as number, -1, d - 1);
      shape[ax] = Math.max(0, Math.ceil((e - s) / step));
    });
    const inputs = [x, this.ints(starts), this.ints(ends), this.ints(axes)];
    if (steps) inputs.push(this.ints(steps));
    return this.node(
      'Slice',
      inputs,
      shape,
      x.dtype,
      {},
      { starts, ends, axes, steps: steps ?? axes.map(() => 1) },
    );
  }
  transpose(x: Value, perm: readonly number[]): Value {
    return this.node(
      'Transpose',
      [x],
      perm.map((p) => x.shape[p] as Dim),
      x.dtype,
      { perm: { ints: perm } },
    );
  }
  reshape(x: Value, shape: readonly number[]): Value {
    return this.node('Reshape', [x, this.ints(shape)], shape, x.dtype);
  }
  expand(x: Value, shape: readonly number[]): Value {
    return this.node('Expand', [x, this.ints(shape)], broadcastShapes(x.shape, shape), x.dtype);
  }
  gather(x: Value, indices: readonly number[], axis: number): Value {
    const shape = [...x.shape];
    shape[normAxis(axis, shape.length)] = indices.length;
    return this.node('Gather', [x, this.ints(indices)], shape, x.dtype, { axis: { i: axis } });
  }
  /** pads in ONNX order: all begins then all ends, one per axis. */
  pad(x: Value, pads: readonly number[], mode: 'constant' | 'reflect' = 'constant'): Value {
    const r = x.shape.length;
    const shape = x.shape.map((d, i) =>
      dimExpr(d, (n) => n + (pads[i] as number) + (pads[i + r] as number), 'pad'),
    );
    return this.node('Pad', [x, this.ints(pads)], shape, x.dtype, { mode: { s: mode } }, { pads, mode });
  }
  /** Reflect-pad the two spatial axes of an NCHW tensor by p on every side. */
  reflectPad2d(x: Value, p: number): Value {
    return this.pad(x, [0, 0, p, p, 0, 0, p, p], 'reflect');
  }

  // ---- reductions ----
  private reducedShape(x: Value, axes: readonly number[], keepdims: boolean): Dim[] {
    const ax = new Set(axes.map((a) => normAxis(a, x.shape.length)));
    const out: Dim[] = [];
    x.shape.forEach((d, i) => {
      if (!ax.has(i)) out.push(d);
      else if (keepdims) out.push(1);
    });
    return out;
  }
  reduceSum(x: Value, axes: readonly number[], keepdims = true): Value {
    return this.node(
      'ReduceSum',
      [x, this.ints(axes)],
      this.reducedShape(x, axes, keepdims),
      x.dtype,
      { keepdims: { i: keepdims ? 1 : 0 } },
      { axes, keepdims },
    );
  }
  /** Opset 17 ReduceMean/ReduceMax take axes as an attribute. */
  reduceMean(x: Value, axes: readonly number[], keepdims = true): Value {
    return this.node(
      'ReduceMean',
      [x],
      this.reducedShape(x, axes, keepdims),
      x.dtype,
      { axes: { ints: axes }, keepdims: { i: keepdims ? 1 : 0 } },
      { axes, keepdims },
    );
  }
  reduceMax(x: Value, axes: readonly number[], keepdims = true): Value {
    return this.node(
      'ReduceMax',
      [x],
      this.reducedShape(x, axes, keepdims),
      x.dtype,
      { axes: { ints: axes }, keepdims: { i: keepdims ? 1 : 0 } },
      { axes, keepdims },
    );
  }
  /** Mean of all elements, as a scalar []. */
  mean(x: Value): Value {
    return this.reduceMean(
      x,
      x.shape.map((_, i) => i),
      false,
    );
  }
  globalMaxPool(x: Value): Value {
    return this.node('GlobalMaxPool', [x], [x.shape[0] as Dim, x.shape[1] as Dim, 1, 1], x.dtype);
  }

  // ---- linear algebra / conv ----
  matMul(a: Value, b: Value): Value {
    if (a.shape.length !== 2 || b.shape.length !== 2) throw new Error('matMul supports 2-D operands only');
    return this.node('MatMul', [a, b], [a.shape[0] as Dim, b.shape[1] as Dim], a.dtype);
  }
  /** Gemm without bias: op(a) * op(b), op = optional transpose (used by backward passes only). */
  gemm(a: Value, b: Value, transA = false, transB = false): Value {
    const m = a.shape[transA ? 1 : 0] as Dim;
    const n = b.shape[transB ? 0 : 1] as Dim;
    return this.node('Gemm', [a, b], [m, n], a.dtype, {
      transA: { i: transA ? 1 : 0 },
      transB: { i: transB ? 1 : 0 },
    });
  }
  conv(x: Value, w: Value, bias: Value | undefined, o: ConvOptions = {}): Value {
    const strides = o.strides ?? [1, 1];
    const pads = o.pads ?? [0, 0, 0, 0];
    const dil = o.dilations ?? [1, 1];
    const k = w.shape.slice(2) as number[];
    const shape: Dim[] = [x.shape[0] as Dim, w.shape[0] as Dim];
    for (let i = 0; i < 2; i++)
      shape.push(
        dimExpr(
          x.shape[2 + i] as Dim,
          (n) =>
            convOutSize(
              n,
              k[i] as number,
              strides[i] as number,
              pads[i] as number,
              pads[i + 2] as number,
              dil[i],
            ),
          'conv',
        ),
      );
    const inputs = bias ? [x, w, bias] : [x, w];
    return this.node('Conv', inputs, shape, x.dtype, {
      strides: { ints: strides },
      pads: { ints: pads },
      dilations: { ints: dil },
    });
  }
  convTranspose(x: Value, w: Value, bias: Value | undefined, o: ConvTransposeOptions = {}): Value {
    const strides = o.strides ?? [1, 1];
    const pads = o.pads ?? [0, 0, 0, 0];
    const op = o.outputPadding ?? [0, 0];
    const k = w.shape.slice(2) as number[];
    const shape: Dim[] = [x.shape[0] as Dim, w.shape[1] as Dim];
    for (let i = 0; i < 2; i++)
      shape.push(
        dimExpr(
          x.shape[2 + i] as Dim,
          (n) =>
            (strides[i] as number) * (n - 1) +
            (op[i] as number) +
            (k[i] as number) -
            (pads[i] as number) -
            (pads[i + 2] as number),
          'convT',
        ),
      );
    const inputs = bias ? [x, w, bias] : [x, w];
    return this.node('ConvTranspose', inputs, shape, x.dtype, {
      strides: { ints: strides },
      pads: { ints: pads },
      output_padding: { ints: op },
    });
  }
  instanceNorm(x: Value, scale: Value, bias: Value, epsilon: number): Value {
    return this.node('InstanceNormalization', [x, scale, bias], x.shape, x.dtype, {
      epsilon: { f: epsilon },
    });
  }

  /** Adds an Identity node whose output carries `name`, so graph outputs have stable names. */
  named(x: Value, name: string): Value {
    if (this.names.has(name)) throw new Error(`duplicate value name ${name}`);
    const out = this.newValue(x.shape, x.dtype, name);
    this.nodes.push({ op: 'Identity', inputs: [x], outputs: [out], attrs: {}, meta: {} });
    return out;
  }

  /**
   * Serialises the part of the graph the outputs need. Inputs not reached are dropped (ORT insists
   * that every declared input is fed); `outputs` keep their value names.
   */
  toOnnx(outputs: readonly Value[], meta: Record<string, string> = {}, graphName = 'r2c'): ExportedModel {
    const needed = new Set<number>();
    for (const o of outputs) needed.add(o.id);
    const liveNodes: GraphNode[] = [];
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i] as GraphNode;
      if (n.outputs.some((o) => needed.has(o.id))) {
        liveNodes.push(n);
        for (const inp of n.inputs) needed.add(inp.id);
      }
    }
    liveNodes.reverse();
    const inputs = this.inputs.filter((v) => needed.has(v.id));
    const inits = this.initializers.filter((t) => needed.has(t.value.id));
    const graph = create(GraphProtoSchema, {
      name: graphName,
      node: liveNodes.map(nodeProto),
      input: inputs.map(valueInfo),
      output: outputs.map(valueInfo),
      initializer: inits.map((t) =>
        tensorProto(t.value.name, t.value.shape as number[], t.value.dtype, t.data),
      ),
    });
    const model = create(ModelProtoSchema, {
      irVersion: 8n,
      producerName: 'r2c-workstation',
      producerVersion: '1',
      opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(OPSET) })],
      graph,
      metadataProps: Object.entries(meta).map(([key, value]) =>
        create(StringStringEntryProtoSchema, { key, value }),
      ),
    });
    return {
      bytes: toBinary(ModelProtoSchema, model),
      inputNames: inputs.map((v) => v.name),
      outputNames: outputs.map((v) => v.name),
      inputShapes: Object.fromEntries(inputs.map((v) => [v.name, [...v.shape]])),
      flops: estimateFlops(liveNodes),
    };
  }
}

/**
 * Multiply-add work of the dense ops (Conv, ConvTranspose, MatMul, Gemm) as 2 x MACs: the figure
 * GFLOP/s numbers are based on. NaN when a shape is symbolic.
 */
export function estimateFlops(nodes: readonly GraphNode[]): number {
  let total = 0;
  for (const n of nodes) {
    const a = n.inputs[0]?.shape ?? [];
    const b = n.inputs[1]?.shape ?? [];
    const y = n.outputs[0]?.shape ?? [];
    const num = (xs: readonly Dim[]) =>
      xs.reduce<number>((p, d) => p * (typeof d === 'number' ? d : Number.NaN), 1);
    if (n.op === 'Conv') total += 2 * num(y) * num(b.slice(1));
    else if (n.op === 'ConvTranspose') total += 2 * num(a) * num(b.slice(1));
    else if (n.op === 'MatMul' || n.op === 'Gemm') {
      const transA = n.attrs['transA'];
      const k = a[transA && 'i' in transA && transA.i === 1 ? 0 : 1] as Dim;
      total += 2 * num(y) * num([k]);
    }
  }
  return total;
}

export interface ExportedModel {
  bytes: Uint8Array;
  inputNames: string[];
  outputNames: string[];
  inputShapes: Record<string, Dim[]>;
  /** Dense-op work of one run (2 x multiply-adds); NaN for symbolic shapes. */
  flops: number;
}

export function onnxType(t: DType): number {
  switch (t) {
    case 'float32':
      return TensorProto_DataType.FLOAT;
    case 'float64':
      return TensorProto_DataType.DOUBLE;
    case 'int64':
      return TensorProto_DataType.INT64;
    case 'bool':
      return TensorProto_DataType.BOOL;
  }
}

function valueInfo(v: Value): ValueInfoProto {
  return create(ValueInfoProtoSchema, {
    name: v.name,
    type: create(TypeProtoSchema, {
      value: {
        case: 'tensorType',
        value: create(TypeProto_TensorSchema, {
          elemType: onnxType(v.dtype),
          shape: create(TensorShapeProtoSchema, {
            dim: v.shape.map((d) =>
              create(TensorShapeProto_DimensionSchema, {
                value:
                  typeof d === 'number'
                    ? { case: 'dimValue', value: BigInt(d) }
                    : { case: 'dimParam', value: d },
              }),
            ),
          }),
        }),
      },
    }),
  });
}

function attrProto(name: string, a: Attr): AttributeProto {
  if ('i' in a)
    return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INT, i: BigInt(a.i) });
  if ('f' in a)
    return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOAT, f: a.f });
  if ('ints' in a)
    return create(AttributeProtoSchema, {
      name,
      type: AttributeProto_AttributeType.INTS,
      ints: a.ints.map((x) => BigInt(x)),
    });
  if ('floats' in a)
    return create(AttributeProtoSchema, {
      name,
      type: AttributeProto_AttributeType.FLOATS,
      floats: [...a.floats],
    });
  return create(AttributeProtoSchema, {
    name,
    type: AttributeProto_AttributeType.STRING,
    s: new TextEncoder().encode(a.s),
  });
}

function nodeProto(n: GraphNode, index: number): NodeProto {
  return create(NodeProtoSchema, {
    name: `${n.op}_${index}`,
    opType: n.op,
    input: n.inputs.map((v) => v.name),
    output: n.outputs.map((v) => v.name),
    attribute: Object.entries(n.attrs).map(([k, a]) => attrProto(k, a)),
  });
}

export function tensorProto(
  name: string,
  shape: readonly number[],
  dtype: DType,
  data: TypedData,
): TensorProto {
  const bytes = new Uint8Array(data.byteLength);
  bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return create(TensorProtoSchema, {
    name,
    dims: shape.map((d) => BigInt(d)),
    dataType: onnxType(dtype),
    rawData: bytes,
  });
}
