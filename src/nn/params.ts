// A network's parameters: named tensors in PyTorch's shapes and order (Linear [out, in], Conv2d [out, in, kh,
// kw]), each stored row-major in one flat float32 buffer from a multiple of 64 floats, so that any tensor binds
// as a view and a checkpoint's tensors load into the equivalent torch.nn.Sequential as they are.
import { Rng } from '../data/random.ts';

/** How a tensor is drawn at initialization. */
export type Init = { kind: 'normal'; std: number } | { kind: 'uniform'; bound: number } | { kind: 'zeros' } | { kind: 'ones' };

export interface ParamSpec {
  /** state_dict key: "layers.0.weight" (fully connected nets), "3.weight" (a Sequential's module 3). */
  readonly name: string;
  /** PyTorch's shape, stored in this order. */
  readonly shape: readonly number[];
  /** The forward pass's multiplier: 1/sqrt(fan_in) for NTK weights (σ is in their initialization), 1 for standard ones, β for biases. */
  readonly scale: number;
  readonly init: Init;
  /** Frozen tensors get no gradient and are no part of the NTK. */
  readonly frozen: boolean;
}

export interface ParamTensor extends ParamSpec {
  /** Float offset in the flat buffer (a multiple of PARAM_ALIGN). */
  readonly offset: number;
  readonly count: number;
}

export interface ParamLayout {
  readonly tensors: readonly ParamTensor[];
  /** Floats in the flat buffer, padding included. */
  readonly size: number;
  /** Trainable parameters, padding and frozen tensors excluded. */
  readonly count: number;
}

/** Every tensor starts at a multiple of 64 floats: 256 bytes, the largest minStorageBufferOffsetAlignment. */
export const PARAM_ALIGN = 64;

const alignUp = (n: number) => Math.ceil(n / PARAM_ALIGN) * PARAM_ALIGN;

export function paramLayout(specs: readonly ParamSpec[]): ParamLayout {
  const tensors: ParamTensor[] = [];
  const names = new Set<string>();
  let size = 0;
  let count = 0;
  for (const s of specs) {
    if (names.has(s.name)) throw new RangeError(`two parameters are named "${s.name}"`);
    names.add(s.name);
    const n = s.shape.reduce((a, b) => a * b, 1);
    tensors.push({ ...s, offset: size, count: n });
    size = alignUp(size + n);
    if (!s.frozen) count += n;
  }
  return { tensors, size, count };
}

/** The initial parameters in the layout's order (padding zero), from one generator drawn tensor after tensor. */
export function initParams(layout: ParamLayout, seed: number): Float32Array {
  const rng = new Rng(seed);
  const p = new Float32Array(layout.size);
  for (const t of layout.tensors) {
    const init = t.init;
    if (init.kind === 'zeros') continue;
    // Constant tensors draw nothing, so adding one leaves the draws of the others as they were.
    if (init.kind === 'ones') {
      p.fill(1, t.offset, t.offset + t.count);
      continue;
    }
    const draw = init.kind === 'normal' ? () => init.std * rng.normal() : () => init.bound * (2 * rng.uniform() - 1);
    for (let i = 0; i < t.count; i++) p[t.offset + i] = draw();
  }
  return p;
}

/** A tensor by name; RangeError naming the layout's tensors if there is none. */
export function tensorNamed(layout: ParamLayout, name: string): ParamTensor {
  const t = layout.tensors.find((x) => x.name === name);
  if (!t) throw new RangeError(`no parameter named "${name}"; the network's are ${layout.tensors.map((x) => x.name).join(', ')}`);
  return t;
}
