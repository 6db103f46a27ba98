// Softmax over each row of length `cols` (attention's keys), and its derivative:
//   softmaxRows:           P[r, j] = exp(S[r, j] − max_j S[r, :]) / Σ_j exp(S[r, j] − max)
//   softmaxRowsLinearized: out[r, j] = P[r, j]·(g[r, j] − Σ_j P[r, j]·g[r, j])
// The Jacobian diag(p) − p·pᵀ is symmetric, so the one kernel is the backward pass (g = dP) and the
// forward-mode product (g = Ṡ). One invocation per row, sums in column order: the same bits every run.
import { FLAT_WORKGROUP_INDEX, ceilDiv, flatGrid, type KernelDef } from '../src/gpu/kernel.ts';

export interface SoftmaxRowsShape {
  rows: number;
  cols: number;
}

const WG = 64;

const uniforms = (s: SoftmaxRowsShape) => Uint32Array.of(s.rows, s.cols, 0, 0);
const grid = (s: SoftmaxRowsShape) => flatGrid(ceilDiv(s.rows, WG));

export const softmaxRows: KernelDef<SoftmaxRowsShape> = {
  name: 'row softmax',
  key: 'softmax-rows',
  source: /* wgsl */ `
struct Params { rows: u32, cols: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<storage, read> S: array<f32>;
@group(0) @binding(1) var<storage, read_write> P: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let r = ${FLAT_WORKGROUP_INDEX} * ${WG}u + tid;
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  var m = S[base];
  for (var j = 1u; j < p.cols; j++) { m = max(m, S[base + j]); }
  var total = 0.0;
  for (var j = 0u; j < p.cols; j++) {
    let e = exp(S[base + j] - m);
    P[base + j] = e;
    total += e;
  }
  for (var j = 0u; j < p.cols; j++) { P[base + j] = P[base + j] / total; }
}
`,
  workgroupSize: [WG, 1, 1],
  bindings: ['read', 'write', 'uniform'],
  grid,
  uniforms,
};

export const softmaxRowsLinearized: KernelDef<SoftmaxRowsShape> = {
  name: 'row softmax derivative',
  key: 'softmax-rows-linearized',
  source: /* wgsl */ `
struct Params { rows: u32, cols: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<storage, read> P: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let r = ${FLAT_WORKGROUP_INDEX} * ${WG}u + tid;
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  var dot = 0.0;
  for (var j = 0u; j < p.cols; j++) { dot += P[base + j] * g[base + j]; }
  for (var j = 0u; j < p.cols; j++) { out[base + j] = P[base + j] * (g[base + j] - dot); }
}
`,
  workgroupSize: [WG, 1, 1],
  bindings: ['read', 'read', 'write', 'uniform'],
  grid,
  uniforms,
};
