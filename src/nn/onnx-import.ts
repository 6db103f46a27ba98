// A model exported by torch.onnx.export (or any ONNX producer) as this engine's graph of layers, with its
// weights as exported. Each supported pattern of ONNX nodes maps onto a layer of src/nn/layers/:
//   Gemm (transA 0, any transB, alpha, beta), MatMul with a weight initializer (+ Add of a bias)  → linear
//   Conv (square kernel, equal strides, symmetric pads, dilation 1, group 1)                       → conv2d
//   Relu (fused into a linear or conv2d it follows), Sigmoid, Tanh                                  → activations
//   Gelu (opset 20) and torch's Erf form x·0.5·(1 + erf(x/√2)), matched as one exact GELU            → pointwise
//   AveragePool (window = stride, no padding), GlobalAveragePool, MaxPool (square, padding ≤ k/2)    → pooling
//   BatchNormalization in inference form: the fixed normalization (x − mean)/sqrt(var + ε) as a frozen
//     per-channel affine layer, then γ and β as a trainable one (so J has torch's columns for γ and β)
//   LayerNormalization over the last axis of a vector                                               → layernorm
//   Add of two activations of one shape (a residual join)                                           → add
//   Flatten, Reshape to [N, −1], Identity, Dropout, Pad of zeros, Transpose of a weight              → no layer
// Anything else is refused with the node's name, its op type and the list above. Shapes: the one graph input
// is [N, …] with N dynamic or fixed and every other dimension fixed; a tensor [N, d1, d2, d3] is the engine's
// [c, h, w] = [d1, d2, d3] (rank 2 and 3 pad with 1s), the same row-major NCHW order.
// Parameterization "standard" keeps PyTorch's: pre = alpha·W·x + beta·C with W and C as exported. "ntk"
// gives the same function at the start with c = 1/sqrt(fan_in): W is stored as alpha·W/c. Either way the
// state dict written back (exportStateDict) has the exported names, shapes and scale.
import type { OnnxAttribute, OnnxModel, OnnxNode, OnnxTensor } from '../io/onnx.ts';
import { Add, isParamLayer, type Layer } from './layer.ts';
import { ChannelAffine } from './layers/affine.ts';
import { AvgPool, GlobalAvgPool } from './layers/avgpool.ts';
import { Conv2d } from './layers/conv2d.ts';
import { Flatten } from './layers/flatten.ts';
import { Gelu } from './layers/gelu.ts';
import { LayerNorm } from './layers/layernorm.ts';
import { MaxPool } from './layers/maxpool.ts';
import { Linear } from './layers/linear.ts';
import { Pointwise } from './layers/pointwise.ts';
import { Relu } from './layers/relu.ts';
import { sameShape, shapeSize, shapeText, type Shape } from './network.ts';
import { paramLayout, type ParamLayout } from './params.ts';

export const ONNX_OPS = ['Gemm', 'MatMul', 'Add', 'Conv', 'Relu', 'Sigmoid', 'Tanh', 'Gelu', 'Erf (in GELU)', 'Div and Mul (in GELU)', 'AveragePool', 'GlobalAveragePool', 'MaxPool', 'BatchNormalization', 'LayerNormalization', 'Flatten', 'Reshape', 'Transpose (of a weight)', 'Identity', 'Dropout', 'Pad (zeros)', 'Constant'] as const;

/** How one entry of the state dict written back is made: a parameter of the network, or a constant of the file. */
export type StateEntry =
  | { key: string; dims: number[]; param: string; transpose: boolean; factor: number }
  | { key: string; dims: number[]; constant: Float64Array; dtype: 'F32' | 'I64' };

export interface ImportedModel {
  file: string;
  producer: string;
  opset: number;
  /** One example's shape (without N) and the outputs per example. */
  inputShape: Shape;
  /** The ONNX input's rank: 2 for [N, d], 4 for [N, C, H, W]. */
  inputRank: number;
  outputs: number;
  layers: Layer[];
  inputs: number[][];
  layout: ParamLayout;
  /** The parameters as exported, in the layout's order. */
  params: Float32Array;
  state: StateEntry[];
}

export interface ImportOptions {
  parameterization?: 'standard' | 'ntk';
}

type NodeValue = { t: 'node'; node: number; shape: Shape; rank: number };
/** Parts of the Erf form of GELU of x, on the way to it. */
type GeluPart = { t: 'gelu'; stage: 'x/√2' | 'erf' | 'erf+1' | 'x·(erf+1)' | 'x/2'; x: NodeValue };
type Value = { t: 'const'; tensor: OnnxTensor } | NodeValue | GeluPart;

const SUPPORTED = `the operators read are ${ONNX_OPS.join(', ')}`;

/** Imports a decoded ONNX model; every refusal is a RangeError naming the file, the node and what is allowed. */
export function importOnnx(model: OnnxModel, options: ImportOptions = {}): ImportedModel {
  const ntk = (options.parameterization ?? 'standard') === 'ntk';
  const file = model.file;
  const fail = (node: OnnxNode | null, why: string): never => {
    throw new RangeError(`${file}: ${node ? `node "${node.name}" (${node.opType}): ` : ''}${why}`);
  };
  if (model.inputs.length !== 1) fail(null, `the graph has ${model.inputs.length} inputs (${model.inputs.map((i) => i.name).join(', ')}); a model takes one, the batch of examples`);
  if (model.outputs.length !== 1) fail(null, `the graph has ${model.outputs.length} outputs; a model gives one, the batch of predictions`);
  const input = model.inputs[0];
  if (input.dtype !== 'FLOAT') fail(null, `its input "${input.name}" is ${input.dtype}; it must be float32`);
  if (!input.dims) fail(null, `its input "${input.name}" has no shape; export with a sample input so that its shape is recorded`);
  const dims = input.dims!;
  if (dims.length < 2 || dims.length > 4) fail(null, `its input "${input.name}" has rank ${dims.length} ([${dims.join(', ')}]); the input is [N, d], [N, c, l] or [N, c, h, w]`);
  const rest = dims.slice(1);
  if (rest.some((d) => typeof d !== 'number' || d < 1)) fail(null, `its input "${input.name}" is [${dims.map((d) => d ?? '?').join(', ')}]: only the batch dimension (the first) may be dynamic; export with fixed image or feature sizes`);
  const asShape = (r: number[]): Shape => [r[0], r[1] ?? 1, r[2] ?? 1];

  const values = new Map<string, Value>();
  for (const [name, t] of model.initializers) values.set(name, { t: 'const', tensor: t });
  values.set(input.name, { t: 'node', node: -1, shape: asShape(rest as number[]), rank: dims.length });

  // How many times each tensor is read (by nodes and as the graph's output): fusions need a single reader.
  const readers = new Map<string, number[]>();
  model.nodes.forEach((n, i) => n.inputs.forEach((name) => name && readers.set(name, [...(readers.get(name) ?? []), i])));
  const outputName = model.outputs[0].name;
  const soleReader = (name: string): number | null => (name !== outputName && readers.get(name)?.length === 1 ? readers.get(name)![0] : null);

  const layers: Layer[] = [];
  const wiring: number[][] = [];
  const tensors = new Map<string, Float32Array>();
  const state: StateEntry[] = [];
  const usedConstants = new Set<string>();
  const absorbed = new Set<number>();
  let unnamed = 0;

  const push = (layer: Layer, from: number[], rank: number): NodeValue => {
    layers.push(layer);
    wiring.push(from);
    return { t: 'node', node: layers.length - 1, shape: layer.outShape, rank };
  };
  const constant = (node: OnnxNode, i: number, what: string): OnnxTensor => {
    const v = values.get(node.inputs[i]);
    if (!v || v.t !== 'const') return fail(node, `its ${what} ("${node.inputs[i]}") must be an initializer or constant; weights computed in the graph are not read`);
    return v.tensor;
  };
  const activation = (node: OnnxNode, i = 0): NodeValue => {
    const name = node.inputs[i];
    const v = values.get(name);
    if (!v) return fail(node, `reads "${name}", which no earlier node produces (the graph is not in topological order, has a cycle, or misses an input)`);
    if (v.t === 'const') return fail(node, `its input "${name}" is a constant; the layers read activations`);
    if (v.t === 'gelu') return fail(node, `reads "${name}", part of a GELU (x·0.5·(1 + erf(x/√2))) that is used for something else too`);
    return v;
  };
  /** A parameter's engine name: the exported one where it is torch's "prefix.weight" / "prefix.bias", else counted. */
  const prefixOf = (weight: string, bias: string | null): string => {
    const m = /^(.+)\.weight$/.exec(weight);
    const prefix = m && (bias === null || bias === `${m[1]}.bias`) ? m[1] : `onnx${unnamed++}`;
    if (tensors.has(`${prefix}.weight`)) return `onnx${unnamed++}`;
    return prefix;
  };
  const useOnce = (node: OnnxNode, t: OnnxTensor) => {
    if (usedConstants.has(t.name)) fail(node, `the initializer "${t.name}" is a parameter of two layers (tied weights are not supported)`);
    usedConstants.add(t.name);
  };
  const attr = (node: OnnxNode, name: string): OnnxAttribute | undefined => node.attributes.get(name);
  const intAttr = (node: OnnxNode, name: string, fallback: number): number => {
    const a = attr(node, name);
    return a?.kind === 'int' ? a.value : fallback;
  };
  const intsAttr = (node: OnnxNode, name: string): number[] | null => {
    const a = attr(node, name);
    return a?.kind === 'ints' ? a.value : null;
  };
  const floatAttr = (node: OnnxNode, name: string, fallback: number): number => {
    const a = attr(node, name);
    return a?.kind === 'float' ? a.value : fallback;
  };
  const stringAttr = (node: OnnxNode, name: string, fallback: string): string => {
    const a = attr(node, name);
    return a?.kind === 'string' ? a.value : fallback;
  };
  const scalar = (t: OnnxTensor): number | null => (t.values.length === 1 ? t.values[0] : null);
  const near = (a: number | null, b: number) => a !== null && Math.abs(a - b) <= 1e-6 * Math.abs(b);

  /** The bias an Add right after `out` gives (its single reader), absorbed into the layer; null where there is none. */
  const trailingBias = (out: string, channels: number): { tensor: OnnxTensor; output: string } | null => {
    const r = soleReader(out);
    if (r === null) return null;
    const add = model.nodes[r];
    if (add.opType !== 'Add' || add.domain !== '') return null;
    const other = add.inputs[0] === out ? add.inputs[1] : add.inputs[0];
    const v = values.get(other);
    if (!v || v.t !== 'const' || v.tensor.values.length !== channels) return null;
    const d = v.tensor.dims.filter((x) => x !== 1);
    if (d.length > 1) return null;
    absorbed.add(r);
    return { tensor: v.tensor, output: add.outputs[0] };
  };
  /** A Relu that is the single reader of `out`: fused into the layer (one pass); returns its output name. */
  const trailingRelu = (out: string): string | null => {
    const r = soleReader(out);
    if (r === null || model.nodes[r].opType !== 'Relu' || model.nodes[r].domain !== '') return null;
    absorbed.add(r);
    return model.nodes[r].outputs[0];
  };

  /** A linear layer from W (out × in, after any transpose) with an optional bias, reading x. */
  const linear = (node: OnnxNode, x: NodeValue, W: OnnxTensor, transposed: boolean, alpha: number, bias: { tensor: OnnxTensor; beta: number } | null, out: string) => {
    const [outs, ins] = transposed ? [W.dims[1], W.dims[0]] : [W.dims[0], W.dims[1]];
    if (x.shape[0] !== ins || shapeSize(x.shape) !== ins) fail(node, `its weight "${W.name}" takes ${ins} inputs, the layer before gives ${shapeText(x.shape)}`);
    useOnce(node, W);
    if (bias) useOnce(node, bias.tensor);
    const prefix = prefixOf(W.name, bias?.tensor.name ?? null);
    const c = ntk ? 1 / Math.sqrt(ins) : alpha;
    const w = new Float32Array(outs * ins);
    for (let o = 0; o < outs; o++) for (let i = 0; i < ins; i++) w[o * ins + i] = (alpha / c) * W.values[transposed ? i * outs + o : o * ins + i];
    tensors.set(`${prefix}.weight`, w);
    state.push({ key: W.name, dims: W.dims, param: `${prefix}.weight`, transpose: transposed, factor: c / alpha });
    if (bias) {
      tensors.set(`${prefix}.bias`, Float32Array.from(bias.tensor.values));
      state.push({ key: bias.tensor.name, dims: bias.tensor.dims, param: `${prefix}.bias`, transpose: false, factor: 1 });
    }
    const relu = trailingRelu(out);
    const layer = new Linear({ name: prefix, in: ins, out: outs, activation: relu ? 'relu' : 'identity', weightScale: c, biasScale: bias ? bias.beta : 0, weightInit: { kind: 'zeros' }, biasInit: { kind: 'zeros' }, frozen: false });
    values.set(relu ?? out, push(layer, [x.node], 2));
  };

  /** γ ⊙ x + β per channel (a trainable affine layer named for γ), or a fixed one (frozen). */
  const channelAffine = (node: OnnxNode, x: NodeValue, scale: Float64Array, shift: Float64Array, names: { weight: string; bias: string } | null, prefix: string, dims: number[]): NodeValue => {
    const layer = new ChannelAffine(prefix, x.shape, 1, names === null);
    tensors.set(`${prefix}.weight`, Float32Array.from(scale));
    tensors.set(`${prefix}.bias`, Float32Array.from(shift));
    if (names) {
      state.push({ key: names.weight, dims, param: `${prefix}.weight`, transpose: false, factor: 1 });
      state.push({ key: names.bias, dims, param: `${prefix}.bias`, transpose: false, factor: 1 });
    }
    return push(layer, [x.node], x.rank);
  };

  for (const [index, node] of model.nodes.entries()) {
    if (absorbed.has(index)) continue;
    if (node.domain !== '' && node.domain !== 'ai.onnx') fail(node, `is of operator domain "${node.domain}"; only the standard ai.onnx operators are read (${SUPPORTED})`);
    const out = node.outputs[0];
    const op = node.opType;
    switch (op) {
      case 'Constant': {
        const a = attr(node, 'value');
        const f = attr(node, 'value_float');
        const fs = attr(node, 'value_floats');
        const is = attr(node, 'value_ints');
        const i1 = attr(node, 'value_int');
        const tensor: OnnxTensor | null =
          a?.kind === 'tensor' ? { ...a.value, name: out }
          : f?.kind === 'float' ? { name: out, dims: [], dtype: 'FLOAT', values: Float64Array.of(f.value) }
          : i1?.kind === 'int' ? { name: out, dims: [], dtype: 'INT64', values: Float64Array.of(i1.value) }
          : fs?.kind === 'floats' ? { name: out, dims: [fs.value.length], dtype: 'FLOAT', values: Float64Array.from(fs.value) }
          : is?.kind === 'ints' ? { name: out, dims: [is.value.length], dtype: 'INT64', values: Float64Array.from(is.value) }
          : null;
        if (!tensor) fail(node, 'has no value, value_float(s) or value_int(s) attribute this importer reads');
        values.set(out, { t: 'const', tensor: tensor! });
        break;
      }
      case 'Transpose': {
        // A weight stored transposed (torch exports Linear without a bias as Transpose, then MatMul): folded here.
        const v = values.get(node.inputs[0]);
        const perm = intsAttr(node, 'perm') ?? [1, 0];
        if (v?.t !== 'const' || v.tensor.dims.length !== 2 || perm[0] !== 1 || perm[1] !== 0) fail(node, 'transposes an activation or a tensor of rank other than 2; only the transpose of a weight matrix is read');
        const t = (v as { tensor: OnnxTensor }).tensor;
        const [r, c] = t.dims;
        values.set(out, { t: 'const', tensor: { name: t.name, dims: [c, r], dtype: t.dtype, values: Float64Array.from({ length: r * c }, (_, i) => t.values[(i % r) * c + Math.floor(i / r)]) } });
        break;
      }
      case 'Identity':
      case 'Dropout': {
        if (op === 'Dropout' && node.inputs[2]) {
          const mode = values.get(node.inputs[2]);
          if (mode?.t !== 'const' || mode.tensor.values[0] !== 0) fail(node, 'is in training mode (its training_mode input is not a constant false); export the model in eval mode');
        }
        const v = values.get(node.inputs[0]);
        if (!v) fail(node, `reads "${node.inputs[0]}", which no earlier node produces`);
        values.set(out, v!.t === 'const' ? { t: 'const', tensor: { ...v!.tensor, name: out } } : v!);
        break;
      }
      case 'Gemm': {
        const x = activation(node);
        if (x.rank !== 2) fail(node, `reads a tensor of rank ${x.rank}; Gemm takes [N, features] (put a Flatten before it)`);
        if (intAttr(node, 'transA', 0) !== 0) fail(node, 'has transA = 1: the activations must not be transposed (examples are rows)');
        const W = constant(node, 1, 'weight B');
        if (W.dims.length !== 2) fail(node, `its weight "${W.name}" has shape [${W.dims}]; Gemm's B is a matrix`);
        const transB = intAttr(node, 'transB', 0) !== 0;
        const alpha = floatAttr(node, 'alpha', 1);
        const beta = floatAttr(node, 'beta', 1);
        const outs = transB ? W.dims[0] : W.dims[1];
        let bias: { tensor: OnnxTensor; beta: number } | null = null;
        if (node.inputs[2]) {
          const C = constant(node, 2, 'bias C');
          const fits = C.values.length === outs && (C.dims.length === 1 || (C.dims.length === 2 && C.dims[0] === 1));
          if (!fits) fail(node, `its bias "${C.name}" has shape [${C.dims}]; a bias of one value per output ([${outs}] or [1, ${outs}]) is read, not one broadcast from a scalar or a matrix`);
          if (beta !== 0) bias = { tensor: C, beta };
          else state.push({ key: C.name, dims: C.dims, constant: C.values, dtype: 'F32' });
        }
        if (alpha === 0) fail(node, 'has alpha = 0: its output does not depend on its weights');
        linear(node, x, W, !transB, alpha, bias, out);
        break;
      }
      case 'MatMul': {
        const x = activation(node);
        if (x.rank !== 2) fail(node, `reads a tensor of rank ${x.rank}; a MatMul with a weight takes [N, features]`);
        const W = constant(node, 1, 'weight');
        if (W.dims.length !== 2) fail(node, `its weight "${W.name}" has shape [${W.dims}]; a matrix [in, out] is read`);
        const b = trailingBias(out, W.dims[1]);
        linear(node, x, W, true, 1, b ? { tensor: b.tensor, beta: 1 } : null, b?.output ?? out);
        break;
      }
      case 'Conv': {
        const x = activation(node);
        if (x.rank !== 4) fail(node, `reads a tensor of rank ${x.rank}; Conv takes [N, C, H, W]`);
        const W = constant(node, 1, 'weight');
        if (W.dims.length !== 4) fail(node, `its weight "${W.name}" has shape [${W.dims}]; a 2-D convolution's is [out, in, kh, kw]`);
        const [cout, cin, kh, kw] = W.dims;
        const group = intAttr(node, 'group', 1);
        if (group !== 1) fail(node, `has group = ${group}; grouped and depthwise convolutions are not supported (group 1 only)`);
        const dil = intsAttr(node, 'dilations') ?? [1, 1];
        if (dil.some((d) => d !== 1)) fail(node, `has dilations [${dil}]; only dilation 1 is supported`);
        if (kh !== kw) fail(node, `has a ${kh}×${kw} kernel; only square kernels are supported`);
        if (cin !== x.shape[0]) fail(node, `its weight "${W.name}" takes ${cin} channels, the layer before gives ${shapeText(x.shape)}`);
        const strides = intsAttr(node, 'strides') ?? [1, 1];
        if (strides[0] !== strides[1]) fail(node, `has strides [${strides}]; only equal strides are supported`);
        const autoPad = stringAttr(node, 'auto_pad', 'NOTSET');
        let pads = intsAttr(node, 'pads') ?? [0, 0, 0, 0];
        if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
          if (strides[0] !== 1 || kh % 2 !== 1) fail(node, `has auto_pad ${autoPad} with stride ${strides[0]} and kernel ${kh}: only the symmetric case (stride 1, odd kernel) is supported`);
          pads = [(kh - 1) / 2, (kh - 1) / 2, (kh - 1) / 2, (kh - 1) / 2];
        } else if (autoPad !== 'NOTSET' && autoPad !== 'VALID') fail(node, `has auto_pad ${autoPad}`);
        if (autoPad === 'VALID') pads = [0, 0, 0, 0];
        if (pads.some((p) => p !== pads[0])) fail(node, `has pads [${pads}] (begin h, w, end h, w); only the same padding on every side is supported`);
        if (kh > x.shape[1] + 2 * pads[0] || kh > x.shape[2] + 2 * pads[0]) fail(node, `its ${kh}×${kh} kernel is larger than its input ${shapeText(x.shape)} with padding ${pads[0]}`);
        const B = node.inputs[2] ? constant(node, 2, 'bias') : null;
        const trailing = B ? null : trailingBias(out, cout);
        const bias = B ?? trailing?.tensor ?? null;
        if (bias && bias.values.length !== cout) fail(node, `its bias "${bias.name}" has ${bias.values.length} values for ${cout} channels`);
        useOnce(node, W);
        if (bias) useOnce(node, bias);
        const fanIn = cin * kh * kw;
        const c = ntk ? 1 / Math.sqrt(fanIn) : 1;
        const prefix = prefixOf(W.name, bias?.name ?? null);
        tensors.set(`${prefix}.weight`, Float32Array.from(W.values, (v) => v / c));
        state.push({ key: W.name, dims: W.dims, param: `${prefix}.weight`, transpose: false, factor: c });
        if (bias) {
          tensors.set(`${prefix}.bias`, Float32Array.from(bias.values));
          state.push({ key: bias.name, dims: bias.dims, param: `${prefix}.bias`, transpose: false, factor: 1 });
        }
        const end = trailing?.output ?? out;
        const relu = trailingRelu(end);
        const layer = new Conv2d({ name: prefix, inShape: x.shape, out: cout, kernel: kh, stride: strides[0], padding: pads[0], activation: relu ? 'relu' : 'identity', weightScale: c, biasScale: bias ? 1 : 0, weightInit: { kind: 'zeros' }, biasInit: { kind: 'zeros' }, frozen: false });
        values.set(relu ?? end, push(layer, [x.node], 4));
        break;
      }
      case 'Relu':
      case 'Sigmoid':
      case 'Tanh': {
        const x = activation(node);
        const layer = op === 'Relu' ? new Relu(out, x.shape) : new Pointwise(out, x.shape, op === 'Sigmoid' ? 'sigmoid' : 'tanh');
        values.set(out, push(layer, [x.node], x.rank));
        break;
      }
      case 'Gelu': {
        const x = activation(node);
        const approximate = stringAttr(node, 'approximate', 'none');
        if (approximate !== 'none' && approximate !== 'tanh') fail(node, `has approximate "${approximate}"; "none" and "tanh" are read`);
        values.set(out, push(approximate === 'tanh' ? new Gelu(out, x.shape) : new Pointwise(out, x.shape, 'gelu-erf'), [x.node], x.rank));
        break;
      }
      case 'Div':
      case 'Mul':
      case 'Erf':
      case 'Add': {
        const a = values.get(node.inputs[0]);
        const b = node.inputs[1] ? values.get(node.inputs[1]) : undefined;
        if (!a || (op !== 'Erf' && !b)) fail(node, `reads "${!a ? node.inputs[0] : node.inputs[1]}", which no earlier node produces (the graph is not in topological order, has a cycle, or misses an input)`);
        const c = (v: Value | undefined) => (v?.t === 'const' ? scalar(v.tensor) : null);
        const part = (v: Value | undefined, stage: GeluPart['stage']) => (v?.t === 'gelu' && v.stage === stage ? v : null);
        const sameX = (p: GeluPart | null, v: Value | undefined) => p !== null && v?.t === 'node' && v.node === p.x.node;
        let next: Value | null = null;
        if (op === 'Add' && a!.t === 'node' && b!.t === 'node') {
          if (!sameShape(a!.shape, b!.shape) || a!.rank !== b!.rank) fail(node, `adds ${shapeText(a!.shape)} to ${shapeText(b!.shape)}; a residual join adds two activations of one shape (no broadcasting)`);
          next = push(new Add(out, a!.shape), [a!.node, b!.node], a!.rank);
        } else if (op === 'Div' && a!.t === 'node' && near(c(b), Math.SQRT2)) next = { t: 'gelu', stage: 'x/√2', x: a! };
        else if (op === 'Mul' && (a!.t === 'node' || b!.t === 'node') && (near(c(a), Math.SQRT1_2) || near(c(b), Math.SQRT1_2))) next = { t: 'gelu', stage: 'x/√2', x: (a!.t === 'node' ? a : b) as NodeValue };
        else if (op === 'Mul' && (a!.t === 'node' || b!.t === 'node') && (near(c(a), 0.5) || near(c(b), 0.5))) next = { t: 'gelu', stage: 'x/2', x: (a!.t === 'node' ? a : b) as NodeValue };
        else if (op === 'Erf' && part(a, 'x/√2')) next = { t: 'gelu', stage: 'erf', x: (a as GeluPart).x };
        else if (op === 'Add' && (part(a, 'erf') && near(c(b), 1))) next = { t: 'gelu', stage: 'erf+1', x: (a as GeluPart).x };
        else if (op === 'Add' && (part(b, 'erf') && near(c(a), 1))) next = { t: 'gelu', stage: 'erf+1', x: (b as GeluPart).x };
        else if (op === 'Mul' && (sameX(part(a, 'erf+1'), b) || sameX(part(b, 'erf+1'), a))) next = { t: 'gelu', stage: 'x·(erf+1)', x: (a!.t === 'node' ? a : b) as NodeValue };
        else if (op === 'Mul' && ((part(a, 'erf+1') && part(b, 'x/2') && a!.t === 'gelu' && b!.t === 'gelu' && a!.x.node === b!.x.node) || (part(b, 'erf+1') && part(a, 'x/2') && a!.t === 'gelu' && b!.t === 'gelu' && a!.x.node === b!.x.node)) ) {
          const x = (a as GeluPart).x;
          next = push(new Pointwise(out, x.shape, 'gelu-erf'), [x.node], x.rank);
        } else if (op === 'Mul' && ((part(a, 'x·(erf+1)') && near(c(b), 0.5)) || (part(b, 'x·(erf+1)') && near(c(a), 0.5)))) {
          const x = ((a!.t === 'gelu' ? a : b) as GeluPart).x;
          next = push(new Pointwise(out, x.shape, 'gelu-erf'), [x.node], x.rank);
        }
        if (!next) {
          fail(node, op === 'Add' ? 'adds a constant that is not the bias of the MatMul or Conv right before it (the bias must follow its layer directly), or two tensors that are not both activations' : `is not part of a layer this importer reads: ${op} is read only inside GELU's erf form x·0.5·(1 + erf(x/√2)) (${SUPPORTED})`);
        }
        values.set(out, next!);
        break;
      }
      case 'MaxPool': {
        const x = activation(node);
        if (x.rank !== 4) fail(node, `reads a tensor of rank ${x.rank}; pooling takes [N, C, H, W]`);
        if (node.outputs.filter(Boolean).length > 1) fail(node, 'also gives the argmax Indices as an output; only the pooled values are read');
        const k = intsAttr(node, 'kernel_shape') ?? [];
        const strides = intsAttr(node, 'strides') ?? [1, 1];
        const pads = intsAttr(node, 'pads') ?? [0, 0, 0, 0];
        const dil = intsAttr(node, 'dilations') ?? [1, 1];
        const autoPad = stringAttr(node, 'auto_pad', 'NOTSET');
        if (k.length !== 2 || k[0] !== k[1]) fail(node, `has kernel_shape [${k}]; a square 2-D window is read`);
        if (strides[0] !== strides[1]) fail(node, `has strides [${strides}]; only equal strides are supported`);
        if (dil.some((d) => d !== 1)) fail(node, `has dilations [${dil}]; only dilation 1 is supported`);
        if (autoPad !== 'NOTSET' && autoPad !== 'VALID') fail(node, `has auto_pad ${autoPad}; give explicit pads (torch exports them)`);
        if (pads.some((p) => p !== pads[0])) fail(node, `has pads [${pads}]; only the same padding on every side is supported`);
        if (2 * pads[0] > k[0]) fail(node, `has padding ${pads[0]} for a ${k[0]}×${k[0]} window; at most half the window is supported (as torch's MaxPool2d)`);
        if (intAttr(node, 'storage_order', 0) !== 0) fail(node, 'has storage_order 1 (column-major indices)');
        const ho = (x.shape[1] + 2 * pads[0] - k[0]) / strides[0];
        const wo = (x.shape[2] + 2 * pads[0] - k[0]) / strides[0];
        if (intAttr(node, 'ceil_mode', 0) !== 0 && (!Number.isInteger(ho) || !Number.isInteger(wo))) fail(node, 'has ceil_mode 1 where the windows do not tile the input; only floor is supported');
        if (k[0] > x.shape[1] + 2 * pads[0] || k[0] > x.shape[2] + 2 * pads[0]) fail(node, `its ${k[0]}×${k[0]} window is larger than its input ${shapeText(x.shape)}`);
        values.set(out, push(new MaxPool(out, x.shape, k[0], strides[0], pads[0]), [x.node], 4));
        break;
      }
      case 'AveragePool':
      case 'GlobalAveragePool': {
        const x = activation(node);
        if (x.rank !== 4) fail(node, `reads a tensor of rank ${x.rank}; pooling takes [N, C, H, W]`);
        if (op === 'GlobalAveragePool') {
          values.set(out, push(new GlobalAvgPool(out, x.shape), [x.node], 4));
          break;
        }
        const k = intsAttr(node, 'kernel_shape') ?? [];
        const strides = intsAttr(node, 'strides') ?? [1, 1];
        const pads = intsAttr(node, 'pads') ?? [0, 0, 0, 0];
        const autoPad = stringAttr(node, 'auto_pad', 'NOTSET');
        if (k.length !== 2 || k[0] !== k[1]) fail(node, `has kernel_shape [${k}]; a square 2-D window is read`);
        if (strides[0] !== k[0] || strides[1] !== k[0]) fail(node, `has strides [${strides}] for a ${k[0]}×${k[0]} window; only a stride equal to the window (torch's AvgPool2d(k)) is supported`);
        if (pads.some((p) => p !== 0) || (autoPad !== 'NOTSET' && autoPad !== 'VALID')) fail(node, `pads its input (pads [${pads}], auto_pad ${autoPad}); only unpadded pooling is supported`);
        if (intAttr(node, 'ceil_mode', 0) !== 0 && (x.shape[1] % k[0] !== 0 || x.shape[2] % k[0] !== 0)) fail(node, 'has ceil_mode 1 on an input the window does not divide; only floor is supported');
        if (k[0] > x.shape[1] || k[0] > x.shape[2]) fail(node, `its ${k[0]}×${k[0]} window is larger than its input ${shapeText(x.shape)}`);
        values.set(out, push(new AvgPool(out, x.shape, k[0]), [x.node], 4));
        break;
      }
      case 'Pad': {
        const x = activation(node);
        const pads = node.inputs[1] ? constant(node, 1, 'pads').values : Float64Array.from(intsAttr(node, 'pads') ?? []);
        const fill = node.inputs[2] ? constant(node, 2, 'constant value').values[0] ?? 0 : 0;
        if (stringAttr(node, 'mode', 'constant') !== 'constant' || pads.some((p) => p !== 0) || fill !== 0) fail(node, `pads by [${Array.from(pads)}]; only a Pad that adds nothing (as torch exports before AvgPool2d) is read; give the padding to the Conv instead`);
        values.set(out, x);
        break;
      }
      case 'Flatten': {
        const x = activation(node);
        const axis = intAttr(node, 'axis', 1);
        if (axis !== 1 && axis !== 1 - x.rank) fail(node, `has axis ${axis}; only axis 1 (keep the batch, flatten the rest) is read`);
        values.set(out, x.rank === 2 ? x : push(new Flatten(out, x.shape), [x.node], 2));
        break;
      }
      case 'Reshape': {
        const x = activation(node);
        const target = Array.from(constant(node, 1, 'shape').values);
        const size = shapeSize(x.shape);
        const flat = target.length === 2 && (target[0] === -1 || target[0] === 0 || (dims[0] !== null && target[0] === dims[0])) && (target[1] === -1 || target[1] === size);
        if (!flat) fail(node, `reshapes ${shapeText(x.shape)} to [${target}]; only a reshape to [N, -1] (a flatten) is read`);
        values.set(out, x.rank === 2 ? x : push(new Flatten(out, x.shape), [x.node], 2));
        break;
      }
      case 'BatchNormalization': {
        const x = activation(node);
        if (intAttr(node, 'training_mode', 0) !== 0 || node.outputs.filter(Boolean).length > 1) {
          fail(node, 'is in training mode: batch statistics couple the examples of a batch, so the per-example NTK (and η_crit = n/λ_max) is not defined for it; export the model in eval mode (model.eval()), where it is a fixed per-channel affine map');
        }
        const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((i) => constant(node, i, ['scale', 'bias', 'mean', 'variance'][i - 1]));
        const channels = x.shape[0];
        for (const t of [gamma, beta, mean, variance]) if (t.values.length !== channels) fail(node, `its "${t.name}" has ${t.values.length} values for ${channels} channels`);
        const eps = floatAttr(node, 'epsilon', 1e-5);
        useOnce(node, gamma);
        useOnce(node, beta);
        const prefix = prefixOf(gamma.name, beta.name);
        const inv = Float64Array.from(variance.values, (v) => 1 / Math.sqrt(v + eps));
        const normalized = channelAffine(node, x, inv, Float64Array.from(mean.values, (m, i) => -m * inv[i]), null, `${prefix}.normalize`, gamma.dims);
        values.set(out, channelAffine(node, normalized, gamma.values, beta.values, { weight: gamma.name, bias: beta.name }, prefix, gamma.dims));
        // The running statistics go back as they came; torch's BatchNorm also keeps a step counter.
        for (const t of [mean, variance]) state.push({ key: node.inputs[[mean, variance].indexOf(t) + 3], dims: t.dims, constant: t.values, dtype: 'F32' });
        if (prefix === /^(.+)\.weight$/.exec(gamma.name)?.[1]) state.push({ key: `${prefix}.num_batches_tracked`, dims: [], constant: Float64Array.of(0), dtype: 'I64' });
        break;
      }
      case 'LayerNormalization': {
        const x = activation(node);
        const axis = intAttr(node, 'axis', -1);
        if (x.rank !== 2 || (axis !== -1 && axis !== 1)) fail(node, `normalizes a tensor of rank ${x.rank} from axis ${axis}; layer normalization over the features of [N, features] is read`);
        if (!node.inputs[2]) fail(node, 'has no bias B; a LayerNorm with elementwise_affine (weight and bias) is read');
        const [gamma, beta] = [constant(node, 1, 'scale'), constant(node, 2, 'bias')];
        if (gamma.values.length !== x.shape[0] || beta.values.length !== x.shape[0]) fail(node, `its scale and bias have ${gamma.values.length} and ${beta.values.length} values for ${x.shape[0]} features`);
        useOnce(node, gamma);
        useOnce(node, beta);
        const normalized = push(new LayerNorm(`${out}.normalize`, x.shape, floatAttr(node, 'epsilon', 1e-5)), [x.node], 2);
        values.set(out, channelAffine(node, normalized, gamma.values, beta.values, { weight: gamma.name, bias: beta.name }, prefixOf(gamma.name, beta.name), gamma.dims));
        break;
      }
      default:
        fail(node, `${op} is not supported; ${SUPPORTED}. Attention blocks (MatMul of two activations, Softmax) are not read yet`);
    }
  }
  const result = values.get(outputName);
  if (!result || result.t !== 'node' || result.node < 0) fail(null, `its output "${outputName}" is ${!result ? 'produced by no node' : result.t === 'const' ? 'a constant' : result.t === 'gelu' ? 'an unfinished GELU' : 'its input itself'}: the model has no layers`);
  const last = result as NodeValue;
  if (last.node !== layers.length - 1) fail(null, `its output "${outputName}" is not the last layer built; nodes after it feed nothing`);
  const declared = model.outputs[0].dims;
  if (declared && declared.length > 1 && declared.slice(1).every((d) => typeof d === 'number') && (declared.slice(1) as number[]).reduce((a, b) => a * b, 1) !== shapeSize(last.shape)) {
    fail(null, `its output "${outputName}" is declared [${declared}], the layers give ${shapeText(last.shape)} per example`);
  }
  const layout = paramLayout(layers.flatMap((l) => (isParamLayer(l) ? l.params : [])));
  const params = new Float32Array(layout.size);
  for (const t of layout.tensors) params.set(tensors.get(t.name)!, t.offset);
  return { file, producer: model.producer, opset: model.opset, inputShape: asShape(rest as number[]), inputRank: dims.length, outputs: shapeSize(last.shape), layers, inputs: wiring, layout, params, state };
}

/**
 * The state dict to load into the exported module (load_state_dict(sd, strict=True)): every parameter under
 * its exported name and shape, scales folded back (standard parameterization: alpha·W and beta·C as the file
 * has them), and the constants the file carried (batch norm's running statistics) as they came.
 */
export function stateDictOf(imported: ImportedModel, params: Float32Array): Record<string, { dims: number[]; dtype: 'F32' | 'I64'; values: Float64Array }> {
  const out: Record<string, { dims: number[]; dtype: 'F32' | 'I64'; values: Float64Array }> = {};
  for (const e of imported.state) {
    if ('constant' in e) {
      out[e.key] = { dims: e.dims, dtype: e.dtype, values: e.constant };
      continue;
    }
    const t = imported.layout.tensors.find((x) => x.name === e.param)!;
    const v = params.subarray(t.offset, t.offset + t.count);
    const values = new Float64Array(t.count);
    if (e.transpose) {
      const [rows, cols] = [t.shape[0], t.shape[1]];
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) values[c * rows + r] = e.factor * v[r * cols + c];
    } else for (let i = 0; i < t.count; i++) values[i] = e.factor * v[i];
    out[e.key] = { dims: e.dims, dtype: 'F32', values };
  }
  return out;
}

