// Deterministic reductions: sums, dot products, squared or Euclidean norms and minima of long vectors, and the
// fixed-order sum of split-K slices. No float atomics: every sum is a fixed tree, so the same input gives the
// same bits on the same adapter.
//
// One pass of reduceChunks turns n values into ceil(n / CHUNK) partial sums: workgroup w owns the CHUNK values
// from w·CHUNK, invocation t adds values t, t+T, ... of that chunk in order, then a tree in workgroup memory
// adds the T sums. Later passes sum the partials with op 'sum' until one value is left; the last pass may
// take its square root (norms).
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { FLAT_WORKGROUP_INDEX, ceilDiv, flatGrid, memoByKey, type KernelDef } from '../src/gpu/kernel.ts';

export type ReduceOp = 'sum' | 'dot' | 'sumsq' | 'min';

/** Invocations per workgroup and values per invocation: one workgroup reduces CHUNK values. */
export const REDUCE_THREADS = 256;
export const REDUCE_PER_THREAD = 16;
export const REDUCE_CHUNK = REDUCE_THREADS * REDUCE_PER_THREAD;
/** The largest finite f32: the identity of min, and its result when no element is counted. */
export const MIN_IDENTITY = 3.4028234663852886e38;

export interface ReduceShape {
  /** Values to reduce (the length of x, and of y for a dot product). */
  count: number;
  /** Where in the output buffer partial 0 goes, in f32 elements. */
  outOffset?: number;
  /** For min with `above`: elements at or below it are left out. */
  threshold?: number;
}

export interface ReduceOptions {
  op: ReduceOp;
  /** For 'min': count only the elements strictly above the shape's `threshold` (reduce's first pass). */
  above?: boolean;
  /** Take the square root of the result: only for the pass that leaves a single value. */
  sqrt: boolean;
}

export const reduceChunks = memoByKey(
  (o: ReduceOptions) => `reduce:${o.op}${o.above ? ':above' : ''}${o.sqrt ? ':sqrt' : ''}`,
  (o, key): KernelDef<ReduceShape> => {
    const T = REDUCE_THREADS;
    const source = wgsl`
struct Params { count: u32, outOffset: u32, threshold: f32, pad1: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
#if ${o.op === 'dot'}
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
#else
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
#endif

const T = ${T}u;
const CHUNK = ${REDUCE_CHUNK}u;
var<workgroup> partial: array<f32, ${T}>;

@compute @workgroup_size(${T})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let w = ${FLAT_WORKGROUP_INDEX};
  let end = min(p.count, (w + 1u) * CHUNK);
#if ${o.op === 'min'}
  // MIN_IDENTITY: an empty chunk, or one with nothing above the threshold, stays at it.
  var acc = 3.4028234e38;
#else
  var acc = 0.0;
#endif
  for (var i = w * CHUNK + tid; i < end; i += T) {
#if ${o.op === 'dot'}
    acc = fma(x[i], y[i], acc);
#elif ${o.op === 'sumsq'}
    acc = fma(x[i], x[i], acc);
#elif ${o.op === 'min' && o.above === true}
    if (x[i] > p.threshold) { acc = min(acc, x[i]); }
#elif ${o.op === 'min'}
    acc = min(acc, x[i]);
#else
    acc += x[i];
#endif
  }
  partial[tid] = acc;
  for (var s = T / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
#if ${o.op === 'min'}
    if (tid < s) { partial[tid] = min(partial[tid], partial[tid + s]); }
#else
    if (tid < s) { partial[tid] += partial[tid + s]; }
#endif
  }
  if (tid == 0u) {
#if ${o.sqrt}
    out[p.outOffset + w] = sqrt(partial[0]);
#else
    out[p.outOffset + w] = partial[0];
#endif
  }
}
`;
    return {
      name: `reduce ${o.op}${o.above ? ' above a threshold' : ''}${o.sqrt ? ' + sqrt' : ''}`,
      key,
      source,
      workgroupSize: [T, 1, 1],
      bindings: o.op === 'dot' ? ['read', 'read', 'write', 'uniform'] : ['read', 'write', 'uniform'],
      grid: (s) => flatGrid(ceilDiv(s.count, REDUCE_CHUNK)),
      uniforms: (s) => Uint32Array.of(s.count, s.outOffset ?? 0, new Uint32Array(Float32Array.of(s.threshold ?? 0).buffer)[0], 0),
    };
  },
);

export interface SlicesShape {
  /** Elements per slice. */
  length: number;
  slices: number;
}

const WG = 256;

/** out[e] = Σ_{z = 0, 1, ...} slices[z·length + e], in order of z: the second pass of a split-K product. */
export const sumSlices: KernelDef<SlicesShape> = {
  name: 'sum slices',
  key: 'sum-slices',
  source: /* wgsl */ `
struct Params { length: u32, slices: u32, pad0: u32, pad1: u32 }

@group(0) @binding(0) var<storage, read> slices: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let e = ${FLAT_WORKGROUP_INDEX} * ${WG}u + tid;
  if (e >= p.length) { return; }
  var acc = 0.0;
  for (var z = 0u; z < p.slices; z++) { acc += slices[z * p.length + e]; }
  out[e] = acc;
}
`,
  workgroupSize: [WG, 1, 1],
  bindings: ['read', 'write', 'uniform'],
  grid: (s) => flatGrid(ceilDiv(s.length, WG)),
  uniforms: (s) => Uint32Array.of(s.length, s.slices, 0, 0),
};
