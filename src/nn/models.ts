// The models a config can name, as sequences of layers (src/nn/layers/), and their validation. Every model is
// the equivalent of a torch.nn.Sequential, with its parameters named as that Sequential's state_dict names them
// (its module's position, then weight or bias: "3.weight"), so a checkpoint loads into it as it is; the fully
// connected nets keep the names they always had, "layers.{l}.weight". A ReLU after a linear or convolution layer
// is fused into it (one pass), but keeps its position in the naming.
//   fcn    (kind optional): hidden widths, a ReLU after each hidden layer, a linear output;
//   cnn    the paper's CNN (App. F): depth − 1 convolutions (k×k, stride, padding) with ReLUs, then flatten and a
//          linear output;
//   myrtle Myrtle-5/7/10 (Shankar et al. 2020, as neural-tangents builds it): blocks of 3×3 convolutions with
//          ReLUs at one width, 2×2 average pools between the blocks, then global average pooling (on 32×32 images
//          exactly the three final 2×2 pools), flatten and a linear output;
//   graph  a researcher's own sequential net, layer by layer.
// NTK parameterization (default): y = c·W ⋆ x + β·b, c = 1/sqrt(fan_in) with fan_in = Cin·k² (in for dense),
// W ~ N(0, σ²), b = 0 at init. Standard: PyTorch's defaults, W, b ~ U(±1/sqrt(fan_in)), c = 1.
import { integerAtLeast, onlyKeys } from '../util/validate.ts';
import type { Activation, Layer } from './layer.ts';
import { AvgPool, GlobalAvgPool } from './layers/avgpool.ts';
import { Conv2d } from './layers/conv2d.ts';
import { Flatten } from './layers/flatten.ts';
import { Linear } from './layers/linear.ts';
import { Relu } from './layers/relu.ts';
import { shapeSize, shapeText, type Shape } from './network.ts';
import type { ParamSpec } from './params.ts';

export type Parameterization = 'ntk' | 'standard';

interface CommonModel {
  /** 'ntk' (default) or 'standard' (PyTorch's). */
  parameterization?: Parameterization;
  /** σ, the weights' standard deviation under NTK parameterization (0.1 for the small-init control). */
  sigma?: number;
  /** Parametrized layers (0 = first) that do not train. */
  frozen?: number[];
}

export interface FcnModel extends CommonModel {
  kind?: 'fcn';
  /** Widths of the hidden layers; the network has hidden.length + 1 layers. */
  hidden: number[];
  /** β of the hidden layers' biases and of the output layer's; 0 means no bias. */
  hiddenBias?: number;
  outputBias?: number;
}

export interface CnnModel extends CommonModel {
  kind: 'cnn';
  /** Layers in all: depth − 1 convolutions and the linear output (the paper's CNN-5: 5). */
  depth?: number;
  /** Channels of every convolution. */
  channels: number;
  kernel?: number;
  stride?: number;
  padding?: number;
  /** β of every layer's bias; 0 (default) means none. */
  bias?: number;
}

export interface MyrtleModel extends CommonModel {
  kind: 'myrtle';
  depth: 5 | 7 | 10;
  channels: number;
  bias?: number;
}

export type GraphLayerConfig =
  | { type: 'linear'; out?: number; bias?: number }
  | { type: 'conv2d'; out: number; kernel: number; stride?: number; padding?: number; bias?: number }
  | { type: 'relu' }
  | { type: 'avgpool'; kernel: number }
  | { type: 'globalavgpool' }
  | { type: 'flatten' };

export interface GraphModel extends CommonModel {
  kind: 'graph';
  /** The Sequential's modules in order; the last layer's out defaults to the task's outputs. */
  layers: GraphLayerConfig[];
}

export type ModelConfig = FcnModel | CnnModel | MyrtleModel | GraphModel;
export const MODEL_KINDS = ['fcn', 'cnn', 'myrtle', 'graph'] as const;
export const GRAPH_LAYER_TYPES = ['linear', 'conv2d', 'relu', 'avgpool', 'globalavgpool', 'flatten'] as const;

export const FCN_DEFAULTS = { parameterization: 'ntk' as Parameterization, sigma: 1, hiddenBias: 1, outputBias: 0, frozen: [] as number[] };

const MYRTLE_BLOCKS: Record<number, [number, number, number]> = { 5: [2, 1, 1], 7: [2, 2, 2], 10: [3, 3, 3] };

/** A module of the torch.nn.Sequential a model is, before ReLUs are fused: what its layer is made from. */
type SeqModule =
  | { type: 'linear'; out: number; bias: number }
  | { type: 'conv2d'; out: number; kernel: number; stride: number; padding: number; bias: number }
  | { type: 'relu' }
  | { type: 'avgpool'; kernel: number }
  | { type: 'globalavgpool' }
  | { type: 'flatten' };

const positive = (path: string, v: unknown) => integerAtLeast(path, v, 1);

function checkCommon(m: CommonModel): Required<CommonModel> {
  const parameterization = m.parameterization ?? 'ntk';
  if (parameterization !== 'ntk' && parameterization !== 'standard') throw new RangeError(`model.parameterization must be "ntk" or "standard", got "${parameterization}"`);
  const sigma = m.sigma ?? 1;
  if (!(sigma > 0)) throw new RangeError(`model.sigma must be > 0, got ${sigma}`);
  const frozen = m.frozen ?? [];
  if (!Array.isArray(frozen)) throw new RangeError(`model.frozen must be a list of layer numbers, got ${JSON.stringify(frozen)}`);
  return { parameterization, sigma, frozen };
}

function checkBias(path: string, v: unknown): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !(v >= 0)) throw new RangeError(`${path} must be >= 0 (0: no bias), got ${JSON.stringify(v)}`);
  return v;
}

const COMMON_KEYS = ['kind', 'parameterization', 'sigma', 'frozen'];
const MODEL_KEYS: Record<(typeof MODEL_KINDS)[number], readonly string[]> = {
  fcn: [...COMMON_KEYS, 'hidden', 'hiddenBias', 'outputBias'],
  cnn: [...COMMON_KEYS, 'depth', 'channels', 'kernel', 'stride', 'padding', 'bias'],
  myrtle: [...COMMON_KEYS, 'depth', 'channels', 'bias'],
  graph: [...COMMON_KEYS, 'layers'],
};

/** Checks the model's kind and that it has no key its kind does not take (before any data is loaded). */
export function validateModelKeys(model: ModelConfig): void {
  const kind = model?.kind ?? 'fcn';
  if (!(MODEL_KINDS as readonly string[]).includes(kind)) throw new RangeError(`model.kind must be one of ${MODEL_KINDS.join(', ')}; got ${JSON.stringify(kind)}`);
  onlyKeys(`model (${kind})`, model, MODEL_KEYS[kind]);
}

/** The Sequential of a model config, and the names its parameters get. */
function sequence(model: ModelConfig, k: number): { modules: SeqModule[]; names: (i: number, param: number) => string } {
  validateModelKeys(model);
  const kind = model.kind ?? 'fcn';
  const position = (i: number) => `${i}`;
  if (kind === 'fcn') {
    const m = model as FcnModel;
    if (!Array.isArray(m.hidden)) throw new RangeError(`model.hidden must be a list of widths, got ${JSON.stringify(m.hidden)}`);
    m.hidden.forEach((w, i) => positive(`model.hidden[${i}]`, w));
    const hiddenBias = checkBias('model.hiddenBias', m.hiddenBias ?? FCN_DEFAULTS.hiddenBias);
    const outputBias = checkBias('model.outputBias', m.outputBias ?? FCN_DEFAULTS.outputBias);
    const modules: SeqModule[] = [];
    for (const w of m.hidden) modules.push({ type: 'linear', out: w, bias: hiddenBias }, { type: 'relu' });
    modules.push({ type: 'linear', out: k, bias: outputBias });
    // layers.{l}: l counts the linear layers, as this lab's checkpoints always have.
    return { modules, names: (_i, param) => `layers.${param}` };
  }
  if (kind === 'cnn') {
    const m = model as CnnModel;
    const depth = m.depth ?? 5;
    integerAtLeast('model.depth', depth, 2);
    positive('model.channels', m.channels);
    const kernel = m.kernel ?? 3;
    const stride = m.stride ?? 1;
    const padding = m.padding ?? Math.floor(kernel / 2);
    positive('model.kernel', kernel);
    positive('model.stride', stride);
    integerAtLeast('model.padding', padding, 0);
    const bias = checkBias('model.bias', m.bias);
    const modules: SeqModule[] = [];
    for (let l = 0; l < depth - 1; l++) modules.push({ type: 'conv2d', out: m.channels, kernel, stride, padding, bias }, { type: 'relu' });
    modules.push({ type: 'flatten' }, { type: 'linear', out: k, bias });
    return { modules, names: position };
  }
  if (kind === 'myrtle') {
    const m = model as MyrtleModel;
    const blocks = MYRTLE_BLOCKS[m.depth];
    if (!blocks) throw new RangeError(`model.depth of a myrtle model must be 5, 7 or 10, got ${JSON.stringify(m.depth)}`);
    positive('model.channels', m.channels);
    const bias = checkBias('model.bias', m.bias);
    const conv = (): SeqModule[] => [{ type: 'conv2d', out: m.channels, kernel: 3, stride: 1, padding: 1, bias }, { type: 'relu' }];
    const modules: SeqModule[] = [];
    for (const [b, count] of blocks.entries()) {
      for (let c = 0; c < count; c++) modules.push(...conv());
      modules.push(b < 2 ? { type: 'avgpool', kernel: 2 } : { type: 'globalavgpool' });
    }
    modules.push({ type: 'flatten' }, { type: 'linear', out: k, bias });
    return { modules, names: position };
  }
  const m = model as GraphModel;
  if (!Array.isArray(m.layers) || m.layers.length === 0) throw new RangeError('model.layers must be a non-empty list of layers, e.g. [{"type": "conv2d", "out": 16, "kernel": 3}, {"type": "relu"}, ...]');
  const modules = m.layers.map((l, i): SeqModule => {
    const at = `model.layers[${i}]`;
    const type = (l as { type?: unknown })?.type;
    if (!(GRAPH_LAYER_TYPES as readonly unknown[]).includes(type)) throw new RangeError(`${at}: unknown layer type ${JSON.stringify(type)}; the types are ${GRAPH_LAYER_TYPES.join(', ')}`);
    const allowed: Record<string, string[]> = { linear: ['out', 'bias'], conv2d: ['out', 'kernel', 'stride', 'padding', 'bias'], relu: [], avgpool: ['kernel'], globalavgpool: [], flatten: [] };
    for (const key of Object.keys(l)) {
      if (key !== 'type' && !allowed[type as string].includes(key)) throw new RangeError(`${at} (${type}): unknown field "${key}"; a ${type} layer takes ${allowed[type as string].join(', ') || 'no fields'}`);
    }
    const last = i === m.layers.length - 1;
    switch (l.type) {
      case 'linear':
        if (l.out !== undefined || !last) positive(`${at}.out`, l.out);
        return { type: 'linear', out: l.out ?? k, bias: checkBias(`${at}.bias`, l.bias) };
      case 'conv2d': {
        positive(`${at}.out`, l.out);
        positive(`${at}.kernel`, l.kernel);
        const stride = l.stride ?? 1;
        positive(`${at}.stride`, stride);
        const padding = l.padding ?? 0;
        integerAtLeast(`${at}.padding`, padding, 0);
        return { type: 'conv2d', out: l.out, kernel: l.kernel, stride, padding, bias: checkBias(`${at}.bias`, l.bias) };
      }
      case 'avgpool':
        positive(`${at}.kernel`, l.kernel);
        return { type: 'avgpool', kernel: l.kernel };
      default:
        return { type: l.type };
    }
  });
  return { modules, names: position };
}

/** The layers of a model for inputs of `input` shape and k outputs; RangeError naming the layer where shapes fail. */
export function modelLayers(model: ModelConfig, input: Shape, k: number): Layer[] {
  const common = checkCommon(model);
  const { modules, names } = sequence(model, k);
  const kind = model.kind ?? 'fcn';
  const at = (i: number) => (kind === 'graph' ? `model.layers[${i}]` : `layer ${i} of the ${kind} model`);
  const ntk = common.parameterization === 'ntk';
  const paramCount = modules.filter((m) => m.type === 'linear' || m.type === 'conv2d').length;
  for (const f of common.frozen) {
    if (!Number.isInteger(f) || f < 0 || f >= paramCount) throw new RangeError(`model.frozen: layer ${f} does not exist (parametrized layers 0..${paramCount - 1})`);
  }
  const layers: Layer[] = [];
  // A fully connected net reads an image as its vector of c·h·w values (NCHW: torch.flatten's order).
  let shape: Shape = kind === 'fcn' ? [shapeSize(input), 1, 1] : input;
  let param = 0;
  for (let i = 0; i < modules.length; i++) {
    const m = modules[i];
    // A ReLU right after a parametrized layer becomes that layer's activation.
    const fused: Activation = modules[i + 1]?.type === 'relu' && (m.type === 'linear' || m.type === 'conv2d') ? 'relu' : 'identity';
    const inits = (fanIn: number): { weightInit: ParamSpec['init']; biasInit: ParamSpec['init']; weightScale: number } => {
      const bound = 1 / Math.sqrt(fanIn);
      return ntk
        ? { weightInit: { kind: 'normal', std: common.sigma }, biasInit: { kind: 'zeros' }, weightScale: 1 / Math.sqrt(fanIn) }
        : { weightInit: { kind: 'uniform', bound }, biasInit: { kind: 'uniform', bound }, weightScale: 1 };
    };
    if (m.type === 'linear') {
      if (shape[1] !== 1 || shape[2] !== 1) throw new RangeError(`${at(i)} (linear) takes a vector, but the layer before gives ${shapeText(shape)}: put a flatten before it`);
      layers.push(new Linear({ name: names(i, param), in: shape[0], out: m.out, biasScale: m.bias, activation: fused, frozen: common.frozen.includes(param), ...inits(shape[0]) }));
      param++;
    } else if (m.type === 'conv2d') {
      if (shape[1] === 1 && shape[2] === 1 && shape[0] > 1 && kind !== 'graph') throw new RangeError(`${at(i)} (conv2d) needs images, but its input is a vector of ${shape[0]}: the data must have a shape of channels × height × width`);
      if (m.kernel > shape[1] + 2 * m.padding || m.kernel > shape[2] + 2 * m.padding) {
        throw new RangeError(`${at(i)} (conv2d): kernel ${m.kernel} is larger than its input ${shapeText(shape)} with padding ${m.padding}`);
      }
      const conv = new Conv2d({ name: names(i, param), inShape: shape, out: m.out, kernel: m.kernel, stride: m.stride, padding: m.padding, biasScale: m.bias, activation: fused, frozen: common.frozen.includes(param), ...inits(shape[0] * m.kernel * m.kernel) });
      layers.push(conv);
      param++;
    } else if (m.type === 'relu') {
      const before = layers[layers.length - 1];
      if (before && (before.kind === 'linear' || before.kind === 'conv2d') && before.activation === 'relu' && modules[i - 1]?.type !== 'relu') {
        shape = before.outShape;
        continue; // fused into the layer before
      }
      layers.push(new Relu(names(i, param), shape));
    } else if (m.type === 'avgpool') {
      if (m.kernel > shape[1] || m.kernel > shape[2]) throw new RangeError(`${at(i)} (avgpool): window ${m.kernel} is larger than its input ${shapeText(shape)}`);
      layers.push(new AvgPool(names(i, param), shape, m.kernel));
    } else if (m.type === 'globalavgpool') {
      layers.push(new GlobalAvgPool(names(i, param), shape));
    } else {
      layers.push(new Flatten(names(i, param), shape));
    }
    shape = layers[layers.length - 1].outShape;
  }
  if (shapeSize(shape) !== k || shape[1] !== 1 || shape[2] !== 1) {
    throw new RangeError(`the model ends in ${shapeText(shape)} values per example; the task has ${k} output${k === 1 ? '' : 's'}: end with a linear layer of out ${k}`);
  }
  return layers;
}
