// The models a config can name, as graphs of layers (src/nn/layers/), and their validation. A model is a list of
// modules as a torch.nn.Sequential holds them, where a module may be a residual block (y = main(x) + shortcut(x),
// each branch a list again, the shortcut the identity when empty). Parameters are named as the equivalent
// PyTorch module's state_dict names them (a Sequential's position, then weight or bias: "3.weight"; a block's
// branches "3.main.0.weight", "3.shortcut.0.weight"), so a checkpoint loads into it as it is; the fully
// connected nets keep the names they always had, "layers.{l}.weight", and the Wide ResNet takes the names of
// the reference implementation (conv1, block1.layer.0.conv1, …, fc). A ReLU right after a linear or
// convolution layer in the same list is fused into it (one pass), but keeps its position in the naming.
//   fcn    (kind optional): hidden widths, a ReLU after each hidden layer, a linear output;
//   cnn    the paper's CNN (App. F): depth − 1 convolutions (k×k, stride, padding) with ReLUs, then flatten and a
//          linear output;
//   myrtle Myrtle-5/7/10 (Shankar et al. 2020, as neural-tangents builds it): blocks of 3×3 convolutions with
//          ReLUs at one width, 2×2 average pools between the blocks, then global average pooling (on 32×32 images
//          exactly the three final 2×2 pools), flatten and a linear output;
//   wrn    Wide ResNet depth-widen (Zagoruyko & Komodakis 2016), pre-activation blocks without batch norm:
//          a 3×3 stem of 16 channels, three groups of (depth − 4)/6 blocks of 16k, 32k, 64k channels
//          (strides 1, 2, 2; a 1×1 convolution as the shortcut where the shape changes), ReLU, global average
//          pooling and a linear output;
//   vit    a Vision Transformer (Dosovitskiy et al. 2021) of `depth` pre-norm blocks: patch embedding (a
//          convolution of kernel and stride `patch`), learned position embeddings, blocks of
//          x + attn(norm1(x)) and x + mlp(norm2(x)) (fc1, GELU, fc2 at mlpRatio × dim), a final layer norm,
//          the mean over tokens and a linear head; timm's names (patch_embed.proj, pos_embed,
//          blocks.{i}.norm1, blocks.{i}.attn.qkv, blocks.{i}.attn.proj, blocks.{i}.mlp.fc1, norm, head).
//          Tokens stay channel-major ([dim, h/patch, w/patch] per example), so a token-wise linear map is a
//          1×1 convolution and the pos_embed is stored [1, dim, h, w];
//   graph  a researcher's own net, module by module, residual blocks and transformer modules included.
// NTK parameterization (default): y = c·W ⋆ x + β·b, c = 1/sqrt(fan_in) with fan_in = Cin·k² (in for dense),
// W ~ N(0, σ²), b = 0 at init. Standard: PyTorch's defaults, W, b ~ U(±1/sqrt(fan_in)), c = 1.
import { checkConfigPart } from '../config/check.ts';
import { modelSchema } from '../config/parts.ts';
import { integerAtLeast } from '../util/validate.ts';
import { Add, type Activation, type Layer } from './layer.ts';
import { AvgPool, GlobalAvgPool } from './layers/avgpool.ts';
import { Conv2d } from './layers/conv2d.ts';
import { Flatten } from './layers/flatten.ts';
import { Linear } from './layers/linear.ts';
import { Relu } from './layers/relu.ts';
import { ChannelAffine } from './layers/affine.ts';
import { Attention } from './layers/attention.ts';
import { Gelu } from './layers/gelu.ts';
import { Pointwise } from './layers/pointwise.ts';
import { MaxPool } from './layers/maxpool.ts';
import { LayerNorm } from './layers/layernorm.ts';
import { PositionEmbedding } from './layers/posembed.ts';
import { sameShape, shapeSize, shapeText, type Shape } from './network.ts';
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
  /** β of the linear output's bias where it differs from `bias` (the paper's CNN: hidden biases, 0 here). */
  outputBias?: number;
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
  | { type: 'maxpool'; kernel: number; stride?: number; padding?: number }
  | { type: 'globalavgpool' }
  | { type: 'flatten' }
  | { type: 'residual'; main: GraphLayerConfig[]; shortcut?: GraphLayerConfig[] }
  | { type: 'layernorm' }
  | { type: 'gelu'; approximate?: 'tanh' | 'none' }
  | { type: 'sigmoid' }
  | { type: 'tanh' }
  | { type: 'attention'; heads: number; bias?: number }
  | { type: 'posembed' };

export interface VitModel extends CommonModel {
  kind: 'vit';
  /** The token width D. */
  dim: number;
  /** Side of the square patches (kernel and stride of the patch embedding); 4 by default. */
  patch?: number;
  /** Transformer blocks; 4 by default (ViT-4). */
  depth?: number;
  /** Attention heads (dim must be a multiple); 4 by default. */
  heads?: number;
  /** The MLP's hidden width over dim; 2 by default. */
  mlpRatio?: number;
  /** β of every linear map's bias (patch embedding, qkv, proj, MLP, head); 0 (default) means none. */
  bias?: number;
}

export interface WrnModel extends CommonModel {
  kind: 'wrn';
  /** 6N + 4 layers: N blocks per group (10: one). */
  depth: number;
  /** The widening factor k: the groups have 16k, 32k and 64k channels. */
  widen: number;
  /** β of every layer's bias; 0 (default) means none (the reference WRN's convolutions have none). */
  bias?: number;
}

export interface GraphModel extends CommonModel {
  kind: 'graph';
  /** The Sequential's modules in order; the last layer's out defaults to the task's outputs. */
  layers: GraphLayerConfig[];
}

/** A model exported to ONNX (src/nn/onnx-import.ts), read from its file when the run is built (src/run/model-source.ts). */
export interface OnnxModelConfig {
  kind: 'onnx';
  file: string;
  /** 'standard' (default): as exported; 'ntk': the same function at the start with c = 1/sqrt(fan_in). */
  parameterization?: Parameterization;
}

export type ModelConfig = FcnModel | CnnModel | MyrtleModel | WrnModel | VitModel | GraphModel | OnnxModelConfig;
export const MODEL_KINDS = ['fcn', 'cnn', 'myrtle', 'wrn', 'vit', 'onnx', 'graph'] as const;
export const GRAPH_LAYER_TYPES = ['linear', 'conv2d', 'relu', 'avgpool', 'maxpool', 'globalavgpool', 'flatten', 'residual', 'layernorm', 'gelu', 'sigmoid', 'tanh', 'attention', 'posembed'] as const;
/** Module types a per-example NTK cannot have, and why (a clear error instead of "unknown type"). */
const REFUSED_LAYER_TYPES: Record<string, string> = {
  batchnorm: 'batch normalization in training mode couples the examples of a batch, so the per-example NTK (and η_crit = n/λ_max) is not defined for it; build the net without it, as the wrn model is, or with layer normalization',
  batchnorm2d: 'batch normalization in training mode couples the examples of a batch, so the per-example NTK (and η_crit = n/λ_max) is not defined for it; build the net without it, as the wrn model is, or with layer normalization',
};

export const FCN_DEFAULTS = { parameterization: 'ntk' as Parameterization, sigma: 1, hiddenBias: 1, outputBias: 0, frozen: [] as number[] };

const MYRTLE_BLOCKS: Record<number, [number, number, number]> = { 5: [2, 1, 1], 7: [2, 2, 2], 10: [3, 3, 3] };

/** A module of the list a model is, before ReLUs are fused: what its layer is made from (name: its state_dict prefix, by position when absent). */
type SeqModule = { name?: string } & (
  | { type: 'linear'; out: number; bias: number }
  | { type: 'conv2d'; out: number; kernel: number; stride: number; padding: number; bias: number }
  | { type: 'relu' }
  | { type: 'avgpool'; kernel: number }
  | { type: 'maxpool'; kernel: number; stride: number; padding: number }
  | { type: 'globalavgpool' }
  | { type: 'flatten' }
  | { type: 'residual'; main: SeqModule[]; shortcut: SeqModule[] }
  | { type: 'layernorm' }
  | { type: 'gelu'; approximate?: 'tanh' | 'none' }
  | { type: 'sigmoid' }
  | { type: 'tanh' }
  | { type: 'attention'; heads: number; bias: number }
  | { type: 'posembed' }
);

const positive = (path: string, v: unknown) => integerAtLeast(path, v, 1);

function checkCommon(m: CommonModel): Required<CommonModel> {
  const parameterization = m.parameterization ?? 'ntk';
  if (parameterization !== 'ntk' && parameterization !== 'standard') throw new RangeError(`model.parameterization must be "ntk" or "standard", got "${parameterization}"`);
  const sigma = m.sigma ?? 1;
  if (typeof sigma !== 'number' || !Number.isFinite(sigma) || sigma <= 0) throw new RangeError(`model.sigma must be a finite number > 0, got ${JSON.stringify(sigma)}`);
  const frozen = m.frozen ?? [];
  if (!Array.isArray(frozen)) throw new RangeError(`model.frozen must be a list of layer numbers, got ${JSON.stringify(frozen)}`);
  return { parameterization, sigma, frozen };
}

function checkBias(path: string, v: unknown): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`${path} must be a finite number >= 0 (0: no bias), got ${JSON.stringify(v)}`);
  return v;
}

/** Checks the model's kind, its keys and their types against the schema (src/config/schema.ts), before any data is loaded. */
export function validateModelKeys(model: ModelConfig): void {
  checkConfigPart(modelSchema, model, 'model');
}

/** The module list of a model config, and the names its parameters get (by position, or counted, for fcn). */
function sequence(model: ModelConfig, k: number): { modules: SeqModule[]; names: (position: string, param: number) => string } {
  validateModelKeys(model);
  const kind = model.kind ?? 'fcn';
  const position = (p: string) => p;
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
    return { modules, names: (_p, param) => `layers.${param}` };
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
    const outputBias = m.outputBias === undefined ? bias : checkBias('model.outputBias', m.outputBias);
    for (let l = 0; l < depth - 1; l++) modules.push({ type: 'conv2d', out: m.channels, kernel, stride, padding, bias }, { type: 'relu' });
    modules.push({ type: 'flatten' }, { type: 'linear', out: k, bias: outputBias });
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
  if (kind === 'wrn') return { modules: wrnModules(model as WrnModel, k), names: position };
  if (kind === 'vit') return { modules: vitModules(model as VitModel, k), names: position };
  const m = model as GraphModel;
  if (!Array.isArray(m.layers) || m.layers.length === 0) throw new RangeError('model.layers must be a non-empty list of layers, e.g. [{"type": "conv2d", "out": 16, "kernel": 3}, {"type": "relu"}, ...]');
  return { modules: graphModules(m.layers, 'model.layers', k), names: position };
}

/**
 * The Wide ResNet of Zagoruyko & Komodakis (2016) as its reference implementation builds it, without batch
 * normalization (a per-example NTK is not defined with it): a block is ReLU → conv 3×3 (stride) → ReLU → conv
 * 3×3, added to its input, or, where channels or stride change, to a 1×1 convolution of the ReLU of its input.
 */
function wrnModules(m: WrnModel, k: number): SeqModule[] {
  integerAtLeast('model.depth', m.depth, 10);
  if ((m.depth - 4) % 6 !== 0) throw new RangeError(`model.depth of a wrn must be 6N + 4 (10, 16, 22, 28, …), got ${m.depth}`);
  positive('model.widen', m.widen);
  const bias = checkBias('model.bias', m.bias);
  const blocks = (m.depth - 4) / 6;
  const conv = (name: string, out: number, kernel: number, stride: number): SeqModule => ({ name, type: 'conv2d', out, kernel, stride, padding: kernel === 3 ? 1 : 0, bias });
  const modules: SeqModule[] = [conv('conv1', 16, 3, 1)];
  let channels = 16;
  for (const [g, width] of [16 * m.widen, 32 * m.widen, 64 * m.widen].entries()) {
    for (let b = 0; b < blocks; b++) {
      const name = `block${g + 1}.layer.${b}`;
      const stride = b === 0 && g > 0 ? 2 : 1;
      const main = [conv(`${name}.conv1`, width, 3, stride), { type: 'relu' as const }, conv(`${name}.conv2`, width, 3, 1)];
      if (channels === width && stride === 1) modules.push({ name, type: 'residual', main: [{ type: 'relu' }, ...main], shortcut: [] });
      else modules.push({ type: 'relu' }, { name, type: 'residual', main, shortcut: [conv(`${name}.convShortcut`, width, 1, stride)] });
      channels = width;
    }
  }
  modules.push({ type: 'relu' }, { type: 'globalavgpool' }, { name: 'fc', type: 'linear', out: k, bias });
  return modules;
}

/** ViT's defaults where the config leaves a field out. */
export const VIT_DEFAULTS = { patch: 4, depth: 4, heads: 4, mlpRatio: 2 };

/** The ViT of the file's header: pre-norm blocks, mean pooling over the tokens. */
function vitModules(m: VitModel, k: number): SeqModule[] {
  positive('model.dim', m.dim);
  const patch = m.patch ?? VIT_DEFAULTS.patch;
  const depth = m.depth ?? VIT_DEFAULTS.depth;
  const heads = m.heads ?? VIT_DEFAULTS.heads;
  const mlpRatio = m.mlpRatio ?? VIT_DEFAULTS.mlpRatio;
  positive('model.patch', patch);
  positive('model.depth', depth);
  positive('model.heads', heads);
  if (m.dim % heads !== 0) throw new RangeError(`model.dim (${m.dim}) must be a multiple of model.heads (${heads})`);
  if (typeof mlpRatio !== 'number' || !(mlpRatio > 0) || !Number.isInteger(mlpRatio * m.dim)) throw new RangeError(`model.mlpRatio must be > 0 with mlpRatio × dim a whole number, got ${JSON.stringify(mlpRatio)}`);
  const bias = checkBias('model.bias', m.bias);
  const tokenwise = (name: string, out: number): SeqModule => ({ name, type: 'conv2d', out, kernel: 1, stride: 1, padding: 0, bias });
  const modules: SeqModule[] = [
    { name: 'patch_embed.proj', type: 'conv2d', out: m.dim, kernel: patch, stride: patch, padding: 0, bias },
    { name: 'pos_embed', type: 'posembed' },
  ];
  for (let b = 0; b < depth; b++) {
    const block = `blocks.${b}`;
    modules.push(
      { name: `${block}.residual1`, type: 'residual', main: [{ name: `${block}.norm1`, type: 'layernorm' }, { name: `${block}.attn`, type: 'attention', heads, bias }], shortcut: [] },
      { name: `${block}.residual2`, type: 'residual', main: [{ name: `${block}.norm2`, type: 'layernorm' }, tokenwise(`${block}.mlp.fc1`, mlpRatio * m.dim), { name: `${block}.mlp.act`, type: 'gelu' }, tokenwise(`${block}.mlp.fc2`, m.dim)], shortcut: [] },
    );
  }
  modules.push({ name: 'norm', type: 'layernorm' }, { type: 'globalavgpool' }, { name: 'head', type: 'linear', out: k, bias });
  return modules;
}

/** A graph model's module list, checked field by field; `at` names the list ("model.layers", "model.layers[2].main"). */
function graphModules(list: unknown, at: string, k: number | null): SeqModule[] {
  if (!Array.isArray(list) || (list.length === 0 && !at.endsWith('shortcut'))) throw new RangeError(`${at} must be a non-empty list of layers`);
  return list.map((l, i): SeqModule => {
    const here = `${at}[${i}]`;
    const type = (l as { type?: unknown })?.type;
    if (typeof type === 'string' && Object.hasOwn(REFUSED_LAYER_TYPES, type.toLowerCase())) throw new RangeError(`${here}: ${REFUSED_LAYER_TYPES[type.toLowerCase()]}`);
    if (!(GRAPH_LAYER_TYPES as readonly unknown[]).includes(type)) throw new RangeError(`${here}: unknown layer type ${JSON.stringify(type)}; the types are ${GRAPH_LAYER_TYPES.join(', ')}`);
    const allowed: Record<string, string[]> = {
      linear: ['out', 'bias'],
      conv2d: ['out', 'kernel', 'stride', 'padding', 'bias'],
      relu: [],
      avgpool: ['kernel'],
      maxpool: ['kernel', 'stride', 'padding'],
      globalavgpool: [],
      flatten: [],
      residual: ['main', 'shortcut'],
      layernorm: [],
      gelu: ['approximate'],
      sigmoid: [],
      tanh: [],
      attention: ['heads', 'bias'],
      posembed: [],
    };
    for (const key of Object.keys(l)) {
      if (key !== 'type' && !allowed[type as string].includes(key)) throw new RangeError(`${here} (${type}): unknown field "${key}"; a ${type} layer takes ${allowed[type as string].join(', ') || 'no fields'}`);
    }
    const c = l as GraphLayerConfig;
    // Only the net's very last layer may leave out its width (it is the task's outputs).
    const last = k !== null && i === list.length - 1;
    switch (c.type) {
      case 'linear':
        if (c.out !== undefined || !last) positive(`${here}.out`, c.out);
        return { type: 'linear', out: c.out ?? k!, bias: checkBias(`${here}.bias`, c.bias) };
      case 'conv2d': {
        positive(`${here}.out`, c.out);
        positive(`${here}.kernel`, c.kernel);
        const stride = c.stride ?? 1;
        positive(`${here}.stride`, stride);
        const padding = c.padding ?? 0;
        integerAtLeast(`${here}.padding`, padding, 0);
        return { type: 'conv2d', out: c.out, kernel: c.kernel, stride, padding, bias: checkBias(`${here}.bias`, c.bias) };
      }
      case 'avgpool':
        positive(`${here}.kernel`, c.kernel);
        return { type: 'avgpool', kernel: c.kernel };
      case 'maxpool': {
        positive(`${here}.kernel`, c.kernel);
        const stride = c.stride ?? c.kernel;
        positive(`${here}.stride`, stride);
        const padding = c.padding ?? 0;
        integerAtLeast(`${here}.padding`, padding, 0);
        if (2 * padding > c.kernel) throw new RangeError(`${here}.padding ${padding} is more than half the window ${c.kernel} (as torch's MaxPool2d refuses)`);
        return { type: 'maxpool', kernel: c.kernel, stride, padding };
      }
      case 'residual':
        return { type: 'residual', main: graphModules(c.main, `${here}.main`, null), shortcut: c.shortcut === undefined ? [] : graphModules(c.shortcut, `${here}.shortcut`, null) };
      case 'gelu':
        if (c.approximate !== undefined && c.approximate !== 'tanh' && c.approximate !== 'none') throw new RangeError(`${here}.approximate must be "tanh" (the default) or "none" (exact, x·Φ(x) with erf), got ${JSON.stringify(c.approximate)}`);
        return c.approximate === 'none' ? { type: 'gelu', approximate: 'none' } : { type: 'gelu' };
      case 'attention':
        positive(`${here}.heads`, c.heads);
        return { type: 'attention', heads: c.heads, bias: checkBias(`${here}.bias`, c.bias) };
      default:
        return { type: c.type };
    }
  });
}

/** A model's layers in order and which earlier nodes each reads (−1: the network's input). */
export interface ModelGraph {
  layers: Layer[];
  inputs: number[][];
}

/** The wiring of a chain: each layer reads the one before. */
export const sequentialInputs = (n: number): number[][] => Array.from({ length: n }, (_, i) => [i - 1]);

/** The layers of a model (in order; modelGraph gives their wiring), for inputs of `input` shape and k outputs. */
export function modelLayers(model: ModelConfig, input: Shape, k: number): Layer[] {
  return modelGraph(model, input, k).layers;
}

/** Parametrized layers a module list makes (layer norm: its affine part; attention: qkv and proj). */
const PARAM_LAYERS: Partial<Record<SeqModule['type'], number>> = { linear: 1, conv2d: 1, layernorm: 1, attention: 2, posembed: 1 };
const countParams = (list: SeqModule[]): number => list.reduce((s, m) => s + (m.type === 'residual' ? countParams(m.main) + countParams(m.shortcut) : (PARAM_LAYERS[m.type] ?? 0)), 0);

/** The graph of a model for inputs of `input` shape and k outputs; RangeError naming the layer where shapes fail. */
export function modelGraph(model: ModelConfig, input: Shape, k: number): ModelGraph {
  if (model.kind === 'onnx') throw new RangeError(`model.kind "onnx" is built from its file (${model.file}): loadModel (src/run/model-source.ts) reads it`);
  const common = checkCommon(model);
  const { modules, names } = sequence(model, k);
  const kind = model.kind ?? 'fcn';
  const ntk = common.parameterization === 'ntk';
  const paramCount = countParams(modules);
  for (const f of common.frozen) {
    if (!Number.isInteger(f) || f < 0 || f >= paramCount) throw new RangeError(`model.frozen: layer ${f} does not exist (parametrized layers 0..${paramCount - 1})`);
  }
  if (paramCount > 0 && new Set(common.frozen).size === paramCount) throw new RangeError(`model.frozen: every layer is frozen (parametrized layers 0..${paramCount - 1}): nothing would train`);
  const layers: Layer[] = [];
  const inputs: number[][] = [];
  const push = (layer: Layer, from: number[]) => {
    layers.push(layer);
    inputs.push(from);
    return layers.length - 1;
  };
  const inits = (fanIn: number): { weightInit: ParamSpec['init']; biasInit: ParamSpec['init']; weightScale: number } => {
    const bound = 1 / Math.sqrt(fanIn);
    return ntk
      ? { weightInit: { kind: 'normal', std: common.sigma }, biasInit: { kind: 'zeros' }, weightScale: 1 / Math.sqrt(fanIn) }
      : { weightInit: { kind: 'uniform', bound }, biasInit: { kind: 'uniform', bound }, weightScale: 1 };
  };
  let param = 0;
  /** Builds a list from node `from` of `shape`; `path` names it in errors, `prefix` in parameter names. */
  const build = (list: SeqModule[], from: number, start: Shape, path: string, prefix: string): { node: number; shape: Shape } => {
    let node = from;
    let shape = start;
    for (let i = 0; i < list.length; i++) {
      const m = list[i];
      const at = kind === 'graph' ? `${path}[${i}]` : `layer ${prefix}${i} of the ${kind} model`;
      const name = m.name ?? names(`${prefix}${i}`, param);
      // A ReLU right after a parametrized layer becomes that layer's activation.
      const fused: Activation = list[i + 1]?.type === 'relu' && (m.type === 'linear' || m.type === 'conv2d') ? 'relu' : 'identity';
      let layer: Layer;
      if (m.type === 'linear') {
        if (shape[1] !== 1 || shape[2] !== 1) throw new RangeError(`${at} (linear) takes a vector, but the layer before gives ${shapeText(shape)}: put a flatten before it`);
        layer = new Linear({ name, in: shape[0], out: m.out, biasScale: m.bias, activation: fused, frozen: common.frozen.includes(param), ...inits(shape[0]) });
        param++;
      } else if (m.type === 'conv2d') {
        if (node === -1 && shape[1] === 1 && shape[2] === 1 && shape[0] > 1 && kind !== 'graph') throw new RangeError(`${at} (conv2d) needs images, but its input is a vector of ${shape[0]}: the data must have a shape of channels × height × width`);
        if (m.kernel > shape[1] + 2 * m.padding || m.kernel > shape[2] + 2 * m.padding) {
          throw new RangeError(`${at} (conv2d): kernel ${m.kernel} is larger than its input ${shapeText(shape)} with padding ${m.padding}`);
        }
        layer = new Conv2d({ name, inShape: shape, out: m.out, kernel: m.kernel, stride: m.stride, padding: m.padding, biasScale: m.bias, activation: fused, frozen: common.frozen.includes(param), ...inits(shape[0] * m.kernel * m.kernel) });
        param++;
      } else if (m.type === 'relu') {
        const before = list[i - 1];
        if (before && (before.type === 'linear' || before.type === 'conv2d')) continue; // fused into the layer before
        layer = new Relu(name, shape);
      } else if (m.type === 'avgpool') {
        if (m.kernel > shape[1] || m.kernel > shape[2]) throw new RangeError(`${at} (avgpool): window ${m.kernel} is larger than its input ${shapeText(shape)}`);
        layer = new AvgPool(name, shape, m.kernel);
      } else if (m.type === 'maxpool') {
        layer = new MaxPool(name, shape, m.kernel, m.stride, m.padding);
      } else if (m.type === 'globalavgpool') {
        layer = new GlobalAvgPool(name, shape);
      } else if (m.type === 'flatten') {
        layer = new Flatten(name, shape);
      } else if (m.type === 'gelu') {
        layer = m.approximate === 'none' ? new Pointwise(name, shape, 'gelu-erf') : new Gelu(name, shape);
      } else if (m.type === 'sigmoid' || m.type === 'tanh') {
        layer = new Pointwise(name, shape, m.type);
      } else if (m.type === 'layernorm') {
        // The normalization, then its affine part (the parameters: PyTorch's LayerNorm weight and bias).
        node = push(new LayerNorm(name, shape), [node]);
        layer = new ChannelAffine(name, shape, 1, common.frozen.includes(param));
        param++;
      } else if (m.type === 'posembed') {
        // N(0, 0.02²), timm's init, in both parameterizations; not zero as biases are: a token constant over its
        // channels (a blank patch of a digit) would enter layer norm with variance 0, where its derivative is
        // 1/sqrt(ε) ≈ 316 (measured on the quick ViT: λ_max of the NTK 8·10⁵ at a zero init, 3.6·10⁴ at 0.02).
        // N(0, 1) swamps the patches instead: the quick ViT's loss stayed at 1.0 and its accuracy at 50 % for 30 steps.
        layer = new PositionEmbedding(name, shape, 1, { kind: 'normal', std: 0.02 }, common.frozen.includes(param));
        param++;
      } else if (m.type === 'attention') {
        const [dim, h, w] = shape;
        if (dim % m.heads !== 0) throw new RangeError(`${at} (attention): its input's ${dim} channels are not a multiple of ${m.heads} heads`);
        const projection = (suffix: string, inShape: Shape, out: number) =>
          new Conv2d({ name: `${name}.${suffix}`, inShape, out, kernel: 1, stride: 1, padding: 0, biasScale: m.bias, activation: 'identity', frozen: common.frozen.includes(param++), ...inits(inShape[0]) });
        node = push(projection('qkv', shape, 3 * dim), [node]);
        node = push(new Attention(name, [3 * dim, h, w], m.heads), [node]);
        layer = projection('proj', [dim, h, w], dim);
      } else {
        const main = build(m.main, node, shape, `${path}[${i}].main`, `${name}.main.`);
        const shortcut = m.shortcut.length > 0 ? build(m.shortcut, node, shape, `${path}[${i}].shortcut`, `${name}.shortcut.`) : { node, shape };
        if (!sameShape(main.shape, shortcut.shape)) {
          throw new RangeError(`${at} (residual): its main branch gives ${shapeText(main.shape)}, its shortcut ${shapeText(shortcut.shape)}; give the shortcut a 1×1 convolution of the main branch's channels and stride`);
        }
        node = push(new Add(name, main.shape), [main.node, shortcut.node]);
        shape = main.shape;
        continue;
      }
      node = push(layer, [node]);
      shape = layer.outShape;
    }
    return { node, shape };
  };
  // A fully connected net reads an image as its vector of c·h·w values (NCHW: torch.flatten's order).
  const { shape } = build(modules, -1, kind === 'fcn' ? [shapeSize(input), 1, 1] : input, 'model.layers', '');
  if (shapeSize(shape) !== k || shape[1] !== 1 || shape[2] !== 1) {
    throw new RangeError(`the model ends in ${shapeText(shape)} values per example; the task has ${k} output${k === 1 ? '' : 's'}: end with a linear layer of out ${k}`);
  }
  return { layers, inputs };
}
