// Checkpoints in the safetensors format, readable in NumPy or PyTorch without this lab. Every parameter tensor
// is stored under its state_dict name in PyTorch's shape (src/nn/models.ts names them), so the tensors load into
// the equivalent torch.nn.Sequential with load_state_dict as they are:
//   layers.{l}.weight  F32 [out, in]            fully connected nets: layer l's W (l = 0 is the input layer)
//   layers.{l}.bias    F32 [out]                its bias, where the layer has one
//   {i}.weight         F32 [out, in, k, k]      other models: module i of the Sequential (a Conv2d; [out, in]
//   {i}.bias           F32 [out]                for a Linear); the forward pass multiplies W by c = 1/sqrt(fan_in)
//                                               under NTK parameterization and a bias by β (the metadata's config)
//   optimizer.{state}.{name}                    each optimizer state (torch.optim's names: momentum_buffer,
//                                               square_avg, sum, acc_delta, exp_avg, exp_avg_sq, ...)
//   optimizer.step                 I64 [1]              the optimizer's step count
//   step                           I64 [1]              updates made: the next step to run
//   seed                           I64 [1]              the run's seed
//   tracking.{name}.warm_start     F32 [dim]            power-iteration vectors, so a resumed run tracks exactly
// Metadata: format "catapult-lab checkpoint 1", config (the run's TrainConfig as JSON), lr_scale (the
// η_crit(init) that lrUnit multiplies by), whatever the caller adds (preset, code version), and checksum:
// "crc32:" and 8 hex digits, the CRC-32 of the contents (contentsChecksum), so that a changed byte anywhere,
// in a tensor, a shape or the config, is found instead of resuming a silently different run.
import type { ParamLayout } from '../nn/params.ts';
import type { Optimizer, OptimizerState } from '../optim/optimizer.ts';
import { crc32 } from '../io/crc32.ts';
import { decodeSafetensors, encodeSafetensors, type Tensor } from '../io/safetensors.ts';
import type { TrainConfig } from './train-config.ts';

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

/** The layout's tensors of a flat parameter-shaped array, by name (with a prefix). */
function namedTensors(prefix: string, layout: ParamLayout, flat: Float32Array): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const t of layout.tensors) out[`${prefix}${t.name}`] = { dtype: 'F32', shape: [...t.shape], data: flat.slice(t.offset, t.offset + t.count) };
  return out;
}

const scalar = (v: number): Tensor => ({ dtype: 'I64', shape: [1], data: BigInt64Array.of(BigInt(v)) });

/**
 * The CRC-32 of what a checkpoint holds, independent of how its header is laid out: the metadata (but the
 * checksum) and each tensor's name, dtype and shape as JSON with sorted keys, then the tensors' bytes in name
 * order. Data offsets are not part of it: they only place the bytes, and a moved range changes the bytes.
 */
export function contentsChecksum(tensors: Record<string, Tensor>, metadata: Record<string, string>): string {
  const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const names = Object.keys(tensors).sort(byName);
  const meta = Object.keys(metadata).filter((k) => k !== 'checksum').sort(byName).map((k) => [k, metadata[k]]);
  const index = new TextEncoder().encode(JSON.stringify([meta, names.map((n) => [n, tensors[n].dtype, tensors[n].shape])]));
  const bytes = names.map((n) => new Uint8Array(tensors[n].data.buffer, tensors[n].data.byteOffset, tensors[n].data.byteLength));
  return `crc32:${crc32(index, ...bytes).toString(16).padStart(8, '0')}`;
}

export function encodeCheckpoint(c: CheckpointContents): Uint8Array {
  const tensors: Record<string, Tensor> = {};
  Object.assign(tensors, namedTensors('', c.layout, c.params));
  for (const [name, flat] of Object.entries(c.optimizer.buffers)) Object.assign(tensors, namedTensors(`optimizer.${name}.`, c.layout, flat));
  tensors['optimizer.step'] = scalar(c.optimizer.step);
  tensors.step = scalar(c.step);
  tensors.seed = scalar(c.seed);
  for (const [name, v] of Object.entries(c.warmStarts)) tensors[`tracking.${name}.warm_start`] = { dtype: 'F32', shape: [v.length], data: v };
  const metadata: Record<string, string> = { format: CHECKPOINT_FORMAT, config: JSON.stringify(c.config), lr_scale: String(c.lrScale), ...c.metadata };
  metadata.checksum = contentsChecksum(tensors, metadata);
  return encodeSafetensors(tensors, metadata);
}

export function decodeCheckpoint(file: Uint8Array): DecodedCheckpoint {
  const { tensors, metadata } = decodeSafetensors(file);
  if (metadata.format !== CHECKPOINT_FORMAT) throw new RangeError(`not a catapult-lab checkpoint (metadata format is ${JSON.stringify(metadata.format)}, expected "${CHECKPOINT_FORMAT}")`);
  const int = (name: string, max: number) => {
    const t = tensors[name];
    if (!t || t.dtype !== 'I64' || t.data.length !== 1) throw new RangeError(`checkpoint: tensor "${name}" (I64 [1]) is missing`);
    const v = (t.data as BigInt64Array)[0];
    if (v < 0n || v > BigInt(max)) throw new RangeError(`checkpoint: ${name} is ${v}; it must be from 0 to ${max}`);
    return Number(v);
  };
  const warmStarts: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(tensors)) {
    const m = /^tracking\.(.+)\.warm_start$/.exec(name);
    if (m) warmStarts[m[1]] = t.data as Float32Array;
  }
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(metadata.config);
  } catch {
    throw new RangeError('checkpoint: its metadata "config" is not JSON');
  }
  if (config === null || typeof config !== 'object') throw new RangeError('checkpoint: its metadata "config" is not a config object');
  // A step past the config's own length would be a run that never ends (or starts before it began).
  const steps = Number.isSafeInteger(config.steps) && (config.steps as number) >= 0 ? (config.steps as number) : Number.MAX_SAFE_INTEGER;
  const lrScale = Number(metadata.lr_scale);
  if (!Number.isFinite(lrScale) || lrScale <= 0) throw new RangeError(`checkpoint: lr_scale ${JSON.stringify(metadata.lr_scale)} is not a finite number > 0`);
  for (const [name, t] of Object.entries(tensors)) {
    if (t.dtype !== 'I64' && !(t.data as Float32Array).every(Number.isFinite)) throw new RangeError(`checkpoint: tensor "${name}" holds NaN or infinite values`);
  }
  const step = int('step', steps);
  const seed = int('seed', 2 ** 32 - 1);
  // Last, so that a file edited by hand hears what is wrong with it before that it was edited.
  const checksum = contentsChecksum(tensors, metadata);
  if (metadata.checksum === undefined) throw new RangeError('checkpoint: it has no checksum in its metadata (checkpoints from before catapult-lab 0.2 cannot be resumed)');
  if (metadata.checksum !== checksum) throw new RangeError(`checkpoint: its contents do not match its checksum (${JSON.stringify(metadata.checksum)} recorded, ${checksum} now): the file was changed or damaged after it was written`);
  return { tensors, metadata, config: config as never, step, seed, lrScale, warmStarts };
}

function unflatten(c: DecodedCheckpoint, layout: ParamLayout, prefix: string): Float32Array {
  const flat = new Float32Array(layout.size);
  for (const t of layout.tensors) {
    const name = `${prefix}${t.name}`;
    const saved = c.tensors[name];
    const want = `[${t.shape.join(', ')}]`;
    if (!saved || saved.dtype !== 'F32' || saved.shape.length !== t.shape.length || saved.shape.some((v, i) => v !== t.shape[i])) {
      throw new RangeError(`checkpoint: ${name} must be F32 ${want}, got ${saved ? `${saved.dtype} [${saved.shape.join(', ')}]` : 'none'}`);
    }
    flat.set(saved.data as Float32Array, t.offset);
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
