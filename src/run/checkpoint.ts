// Checkpoints in the safetensors format, readable in NumPy or PyTorch without this lab:
//   layers.{l}.weight              F32 [fanOut, fanIn]  layer l's W (l = 0 is the input layer), PyTorch's layout
//   layers.{l}.bias                F32 [fanOut]         its bias, where the layer has one (the forward pass
//                                                       multiplies it by β_l; W by c_l = 1/sqrt(fanIn) under NTK
//                                                       parameterization, both in the metadata's config)
//   optimizer.{state}.layers.{l}.weight / .bias         each optimizer state (torch.optim's names: momentum_buffer,
//                                                       square_avg, sum, acc_delta, exp_avg, exp_avg_sq, ...)
//   optimizer.step                 I64 [1]              the optimizer's step count
//   step                           I64 [1]              updates made: the next step to run
//   seed                           I64 [1]              the run's seed
//   tracking.{name}.warm_start     F32 [dim]            power-iteration vectors, so a resumed run tracks exactly
// Metadata: format "catapult-lab checkpoint 1", config (the run's TrainConfig as JSON), lr_scale (the
// η_crit(init) that lrUnit multiplies by), and whatever the caller adds (preset, code version).
import type { LayerLayout, ParamLayout } from '../nn/layout.ts';
import type { Optimizer, OptimizerState } from '../optim/optimizer.ts';
import { decodeSafetensors, encodeSafetensors, type Tensor } from '../io/safetensors.ts';
import type { TrainConfig } from './train.ts';

export const CHECKPOINT_FORMAT = 'catapult-lab checkpoint 1';

export interface CheckpointContents {
  layout: ParamLayout;
  params: Float32Array;
  optimizer: OptimizerState;
  step: number;
  seed: number;
  warmStarts: Record<string, Float32Array>;
  config: TrainConfig;
  lrScale: number;
  metadata?: Record<string, string>;
}

export interface DecodedCheckpoint {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
  config: TrainConfig;
  step: number;
  seed: number;
  lrScale: number;
  warmStarts: Record<string, Float32Array>;
}

function layerTensors(prefix: string, L: LayerLayout, flat: Float32Array): Record<string, Tensor> {
  const out: Record<string, Tensor> = {
    [`${prefix}layers.${L.index}.weight`]: { dtype: 'F32', shape: [L.fanOut, L.fanIn], data: flat.slice(L.weightOffset, L.weightOffset + L.fanIn * L.fanOut) },
  };
  if (L.biasOffset >= 0) out[`${prefix}layers.${L.index}.bias`] = { dtype: 'F32', shape: [L.fanOut], data: flat.slice(L.biasOffset, L.biasOffset + L.fanOut) };
  return out;
}

const scalar = (v: number): Tensor => ({ dtype: 'I64', shape: [1], data: BigInt64Array.of(BigInt(v)) });

export function encodeCheckpoint(c: CheckpointContents): Uint8Array {
  const tensors: Record<string, Tensor> = {};
  for (const L of c.layout.layers) Object.assign(tensors, layerTensors('', L, c.params));
  for (const [name, flat] of Object.entries(c.optimizer.buffers)) for (const L of c.layout.layers) Object.assign(tensors, layerTensors(`optimizer.${name}.`, L, flat));
  tensors['optimizer.step'] = scalar(c.optimizer.step);
  tensors.step = scalar(c.step);
  tensors.seed = scalar(c.seed);
  for (const [name, v] of Object.entries(c.warmStarts)) tensors[`tracking.${name}.warm_start`] = { dtype: 'F32', shape: [v.length], data: v };
  return encodeSafetensors(tensors, { format: CHECKPOINT_FORMAT, config: JSON.stringify(c.config), lr_scale: String(c.lrScale), ...c.metadata });
}

export function decodeCheckpoint(file: Uint8Array): DecodedCheckpoint {
  const { tensors, metadata } = decodeSafetensors(file);
  if (metadata.format !== CHECKPOINT_FORMAT) throw new RangeError(`not a catapult-lab checkpoint (metadata format is ${JSON.stringify(metadata.format)}, expected "${CHECKPOINT_FORMAT}")`);
  const int = (name: string) => {
    const t = tensors[name];
    if (!t || t.dtype !== 'I64') throw new RangeError(`checkpoint: tensor "${name}" (I64) is missing`);
    return Number((t.data as BigInt64Array)[0]);
  };
  const warmStarts: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(tensors)) {
    const m = /^tracking\.(.+)\.warm_start$/.exec(name);
    if (m) warmStarts[m[1]] = t.data as Float32Array;
  }
  return { tensors, metadata, config: JSON.parse(metadata.config), step: int('step'), seed: int('seed'), lrScale: Number(metadata.lr_scale), warmStarts };
}

function unflatten(c: DecodedCheckpoint, layout: ParamLayout, prefix: string): Float32Array {
  const flat = new Float32Array(layout.size);
  for (const L of layout.layers) {
    const w = c.tensors[`${prefix}layers.${L.index}.weight`];
    if (!w || w.shape[0] !== L.fanOut || w.shape[1] !== L.fanIn) throw new RangeError(`checkpoint: ${prefix}layers.${L.index}.weight must be [${L.fanOut}, ${L.fanIn}], got ${w ? `[${w.shape}]` : 'none'}`);
    flat.set(w.data as Float32Array, L.weightOffset);
    if (L.biasOffset >= 0) {
      const b = c.tensors[`${prefix}layers.${L.index}.bias`];
      if (!b || b.shape[0] !== L.fanOut) throw new RangeError(`checkpoint: ${prefix}layers.${L.index}.bias must be [${L.fanOut}], got ${b ? `[${b.shape}]` : 'none'}`);
      flat.set(b.data as Float32Array, L.biasOffset);
    }
  }
  return flat;
}

export function checkpointParams(c: DecodedCheckpoint, layout: ParamLayout): Float32Array {
  return unflatten(c, layout, '');
}

export function checkpointOptimizer(c: DecodedCheckpoint, layout: ParamLayout, optimizer: Optimizer): OptimizerState {
  const buffers: Record<string, Float32Array> = {};
  for (const name of optimizer.stateNames) buffers[name] = unflatten(c, layout, `optimizer.${name}.`);
  const step = c.tensors['optimizer.step'];
  return { step: step ? Number((step.data as BigInt64Array)[0]) : 0, buffers };
}
