// Kernels of the empirical NTK of a fully connected network (DESIGN.md, "The mathematics"). Rows of the
// nk×nk kernel are output-major: row a·n + i is output a of example i.
//   ntkAccumulate:       K[p, q] (+)= DD[p, q] · (c²·AA[p mod n, q mod n] + β²)
//                        one layer's term of K = Σ_l (Δ_l Δ_lᵀ) ⊙ (c_l² A_{l-1} A_{l-1}ᵀ + β_l²)
//   perExampleGradients: J[p, u·fanIn + v] = c · Δ[p, r0 + u] · A[p mod n, v]   (the weights of units r0.. of
//                        one layer), then J[p, units·fanIn + u] = β · Δ[p, r0 + u] (their biases): the rows
//                        of the Jacobian restricted to a chunk of parameters, for K = Σ_chunks J Jᵀ.
import { FLAT_WORKGROUP_INDEX, ceilDiv, f32Bits, flatGrid, type KernelDef } from '../src/gpu/kernel.ts';

const WG = 256;

export interface NtkAccumulateShape {
  /** n examples, k outputs: K is nk×nk. */
  n: number;
  k: number;
  c2: number;
  beta2: number;
  /** false for the first layer (K is overwritten), true after. */
  accumulate: boolean;
}

export const ntkAccumulate: KernelDef<NtkAccumulateShape> = {
  name: 'NTK layer accumulate',
  key: 'ntk-accumulate',
  source: /* wgsl */ `
struct Params { n: u32, nk: u32, accumulate: u32, pad: u32, c2: f32, beta2: f32, pad1: f32, pad2: f32 }

@group(0) @binding(0) var<storage, read> dd: array<f32>;
@group(0) @binding(1) var<storage, read> aa: array<f32>;
@group(0) @binding(2) var<storage, read_write> kernel: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let e = ${FLAT_WORKGROUP_INDEX} * ${WG}u + tid;
  if (e >= p.nk * p.nk) { return; }
  let row = e / p.nk;
  let col = e % p.nk;
  let term = dd[e] * (p.c2 * aa[(row % p.n) * p.n + col % p.n] + p.beta2);
  if (p.accumulate == 1u) {
    kernel[e] = kernel[e] + term;
  } else {
    kernel[e] = term;
  }
}
`,
  workgroupSize: [WG, 1, 1],
  bindings: ['read', 'read', 'write', 'uniform'],
  grid: (s) => flatGrid(ceilDiv(s.n * s.k * s.n * s.k, WG)),
  uniforms: (s) => Uint32Array.of(s.n, s.n * s.k, s.accumulate ? 1 : 0, 0, f32Bits(s.c2), f32Bits(s.beta2), 0, 0),
};

export interface PerExampleShape {
  /** Rows of Δ (nk) and examples n (rows of A). */
  rows: number;
  n: number;
  fanIn: number;
  fanOut: number;
  /** Units r0 .. r0 + units − 1 of the layer. */
  r0: number;
  units: number;
  c: number;
  /** β, or 0 for a layer without bias (then no bias columns). */
  beta: number;
}

/** Columns of a per-example gradient chunk: the units' weights, then their biases if the layer has any. */
export const chunkColumns = (s: Pick<PerExampleShape, 'units' | 'fanIn' | 'beta'>) => s.units * s.fanIn + (s.beta !== 0 ? s.units : 0);

export const perExampleGradients: KernelDef<PerExampleShape> = {
  name: 'per-example gradients',
  key: 'per-example-gradients',
  source: /* wgsl */ `
struct Params { rows: u32, n: u32, fanIn: u32, fanOut: u32, r0: u32, units: u32, cols: u32, pad: u32, c: f32, beta: f32, pad1: f32, pad2: f32 }

@group(0) @binding(0) var<storage, read> delta: array<f32>;
@group(0) @binding(1) var<storage, read> act: array<f32>;
@group(0) @binding(2) var<storage, read_write> jac: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let e = ${FLAT_WORKGROUP_INDEX} * ${WG}u + tid;
  if (e >= p.rows * p.cols) { return; }
  let row = e / p.cols;
  let col = e % p.cols;
  let weights = p.units * p.fanIn;
  if (col < weights) {
    let u = col / p.fanIn;
    let v = col % p.fanIn;
    jac[e] = p.c * delta[row * p.fanOut + p.r0 + u] * act[(row % p.n) * p.fanIn + v];
  } else {
    jac[e] = p.beta * delta[row * p.fanOut + p.r0 + (col - weights)];
  }
}
`,
  workgroupSize: [WG, 1, 1],
  bindings: ['read', 'read', 'write', 'uniform'],
  grid: (s) => flatGrid(ceilDiv(s.rows * chunkColumns(s), WG)),
  uniforms: (s) => Uint32Array.of(s.rows, s.n, s.fanIn, s.fanOut, s.r0, s.units, chunkColumns(s), 0, f32Bits(s.c), f32Bits(s.beta), 0, 0),
};
