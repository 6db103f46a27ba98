// Layer normalization over the channels of every position (a token), in NCHW rows: for example n and
// position q, with μ and σ² the mean and variance of x[n, :, q] over the C channels and r = 1/sqrt(σ² + ε),
//   layerNorm:           x̂[n, c, q] = (x[n, c, q] − μ)·r
//   layerNormLinearized: out[n, c, q] = r·(g[n, c, q] − mean_c g − x̂[n, c, q]·mean_c(g ⊙ x̂))
// The second is the Jacobian of the first applied to g. That Jacobian, r·(I − 11ᵀ/C − x̂x̂ᵀ/C), is symmetric,
// so the one kernel is the backward pass (g = dy) and the forward-mode product (g = ẋ). μ and r are recomputed
// from x rather than stored: two passes over C values per position. The affine part (γ, β) is a layer of its
// own (src/nn/layers/affine.ts). One invocation per position, sums in channel order: the same bits every run.
import { FLAT_WORKGROUP_INDEX, ceilDiv, f32Bits, flatGrid, type KernelDef } from '../src/gpu/kernel.ts';

export interface LayerNormShape {
  /** Examples, channels, and positions per channel (h·w). */
  b: number;
  c: number;
  positions: number;
  eps: number;
}

const WG = 64;

const PARAMS = `struct Params { b: u32, c: u32, positions: u32, eps: f32 }`;

/** μ and r of the position that invocation e owns (x[n, c, q] at base + c·positions). */
const STATS = /* wgsl */ `
fn stats(base: u32) -> vec2f {
  var mean = 0.0;
  for (var c = 0u; c < p.c; c++) { mean += x[base + c * p.positions]; }
  mean /= f32(p.c);
  var v = 0.0;
  for (var c = 0u; c < p.c; c++) {
    let d = x[base + c * p.positions] - mean;
    v += d * d;
  }
  return vec2f(mean, inverseSqrt(v / f32(p.c) + p.eps));
}`;

const uniforms = (s: LayerNormShape) => Uint32Array.of(s.b, s.c, s.positions, f32Bits(s.eps));
const grid = (s: LayerNormShape) => flatGrid(ceilDiv(s.b * s.positions, WG));

export const layerNorm: KernelDef<LayerNormShape> = {
  name: 'layer norm',
  key: 'layer-norm',
  source: /* wgsl */ `
${PARAMS}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
${STATS}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let e = ${FLAT_WORKGROUP_INDEX} * ${WG}u + tid;
  if (e >= p.b * p.positions) { return; }
  let base = (e / p.positions) * p.c * p.positions + e % p.positions;
  let s = stats(base);
  for (var c = 0u; c < p.c; c++) {
    let at = base + c * p.positions;
    y[at] = (x[at] - s.x) * s.y;
  }
}
`,
  workgroupSize: [WG, 1, 1],
  bindings: ['read', 'write', 'uniform'],
  grid,
  uniforms,
};

export const layerNormLinearized: KernelDef<LayerNormShape> = {
  name: 'layer norm derivative',
  key: 'layer-norm-linearized',
  source: /* wgsl */ `
${PARAMS}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
${STATS}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let e = ${FLAT_WORKGROUP_INDEX} * ${WG}u + tid;
  if (e >= p.b * p.positions) { return; }
  let base = (e / p.positions) * p.c * p.positions + e % p.positions;
  let s = stats(base);
  var meanG = 0.0;
  var meanGX = 0.0;
  for (var c = 0u; c < p.c; c++) {
    let at = base + c * p.positions;
    meanG += g[at];
    meanGX += g[at] * (x[at] - s.x) * s.y;
  }
  meanG /= f32(p.c);
  meanGX /= f32(p.c);
  for (var c = 0u; c < p.c; c++) {
    let at = base + c * p.positions;
    out[at] = s.y * (g[at] - meanG - (x[at] - s.x) * s.y * meanGX);
  }
}
`,
  workgroupSize: [WG, 1, 1],
  bindings: ['read', 'read', 'write', 'uniform'],
  grid,
  uniforms,
};
