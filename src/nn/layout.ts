// Host-side description of a fully connected ReLU network: its layers, the flat parameter layout, and the
// seeded initialization. Shared by the GPU model (mlp.ts) and the float64 reference (src/ref/mlp.ts).
import { Rng } from '../data/random.ts';
import { integerAtLeast } from '../util/validate.ts';

export type Parameterization = 'ntk' | 'standard';

export interface MlpConfig {
  inputDim: number;
  /** Widths of the hidden layers; the network has hidden.length + 1 layers. */
  hidden: number[];
  /** Outputs k (1 for the scalar tasks, 10 for digits). */
  outputs: number;
  /**
   * 'ntk': h = c·W·a + β·b with c = 1/sqrt(fan_in), W ~ N(0, σ²), b = 0 at init.
   * 'standard': PyTorch's nn.Linear, h = W·a + β·b with W, b ~ U(−1/sqrt(fan_in), 1/sqrt(fan_in)).
   */
  parameterization: Parameterization;
  /** σ, the weights' standard deviation under NTK parameterization (0.1 for the small-init control). */
  sigma: number;
  /** β of the hidden layers' biases and of the output layer's; 0 means the layer has no bias. */
  hiddenBias: number;
  outputBias: number;
  /** Layers (0 = first) whose parameters do not train: their gradients stay zero. */
  frozen: number[];
  seed: number;
}

export const MLP_DEFAULTS: Omit<MlpConfig, 'inputDim' | 'hidden' | 'outputs' | 'seed'> = {
  parameterization: 'ntk',
  sigma: 1,
  hiddenBias: 1,
  outputBias: 0,
  frozen: [],
};

export interface LayerLayout {
  index: number;
  fanIn: number;
  fanOut: number;
  activation: 'relu' | 'identity';
  /** c: the weights' multiplier in the forward pass. */
  weightScale: number;
  /** β, or 0 when the layer has no bias. */
  biasScale: number;
  frozen: boolean;
  /** Float offsets of W (fanOut×fanIn, row-major as PyTorch's weight) and b in the flat parameter array. */
  weightOffset: number;
  biasOffset: number;
}

export interface ParamLayout {
  layers: LayerLayout[];
  /** Floats in the flat array, padding included. */
  size: number;
  /** Trainable parameters, padding excluded. */
  count: number;
}

/** Every tensor starts at a multiple of 64 floats: 256 bytes, the largest minStorageBufferOffsetAlignment. */
export const PARAM_ALIGN = 64;

const alignUp = (n: number) => Math.ceil(n / PARAM_ALIGN) * PARAM_ALIGN;

export function validateMlpConfig(c: MlpConfig): void {
  const posInt = (name: string, v: number) => integerAtLeast(`model.${name}`, v, 1);
  posInt('inputDim', c.inputDim);
  posInt('outputs', c.outputs);
  if (!Array.isArray(c.hidden)) throw new RangeError(`model.hidden must be a list of widths, got ${JSON.stringify(c.hidden)}`);
  c.hidden.forEach((w, i) => posInt(`hidden[${i}]`, w));
  if (c.parameterization !== 'ntk' && c.parameterization !== 'standard') {
    throw new RangeError(`model.parameterization must be "ntk" or "standard", got "${c.parameterization}"`);
  }
  if (!(c.sigma > 0)) throw new RangeError(`model.sigma must be > 0, got ${c.sigma}`);
  for (const name of ['hiddenBias', 'outputBias'] as const) {
    if (!(c[name] >= 0)) throw new RangeError(`model.${name} must be >= 0 (0: no bias), got ${c[name]}`);
  }
  const layers = c.hidden.length + 1;
  for (const f of c.frozen) {
    if (!Number.isInteger(f) || f < 0 || f >= layers) throw new RangeError(`model.frozen: layer ${f} does not exist (layers 0..${layers - 1})`);
  }
}

export function mlpLayout(c: MlpConfig): ParamLayout {
  validateMlpConfig(c);
  const widths = [c.inputDim, ...c.hidden, c.outputs];
  const layers: LayerLayout[] = [];
  let size = 0;
  let count = 0;
  for (let l = 0; l + 1 < widths.length; l++) {
    const last = l === widths.length - 2;
    const fanIn = widths[l];
    const fanOut = widths[l + 1];
    const biasScale = last ? c.outputBias : c.hiddenBias;
    const weightOffset = size;
    size = alignUp(size + fanIn * fanOut);
    const biasOffset = biasScale > 0 ? size : -1;
    if (biasScale > 0) size = alignUp(size + fanOut);
    count += fanIn * fanOut + (biasScale > 0 ? fanOut : 0);
    layers.push({
      index: l,
      fanIn,
      fanOut,
      activation: last ? 'identity' : 'relu',
      weightScale: c.parameterization === 'ntk' ? 1 / Math.sqrt(fanIn) : 1,
      biasScale,
      frozen: c.frozen.includes(l),
      weightOffset,
      biasOffset,
    });
  }
  return { layers, size, count };
}

/** The initial parameters, as a flat float32 array in the layout's order (padding zero). */
export function initParams(c: MlpConfig, layout = mlpLayout(c)): Float32Array {
  const rng = new Rng(c.seed);
  const p = new Float32Array(layout.size);
  for (const l of layout.layers) {
    const bound = 1 / Math.sqrt(l.fanIn);
    const draw = c.parameterization === 'ntk' ? () => c.sigma * rng.normal() : () => bound * (2 * rng.uniform() - 1);
    for (let i = 0; i < l.fanIn * l.fanOut; i++) p[l.weightOffset + i] = draw();
    if (l.biasOffset >= 0 && c.parameterization === 'standard') {
      for (let i = 0; i < l.fanOut; i++) p[l.biasOffset + i] = draw();
    }
  }
  return p;
}
