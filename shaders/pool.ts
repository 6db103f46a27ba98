// Average pooling in NCHW (a batch is b rows of c·h·w values, channel-major, as PyTorch stores it):
//   avgPool:         y[n, c, i, j] = (1/k²) Σ_{u,v<k} x[n, c, k·i + u, k·j + v]   (window k, stride k, no padding:
//                    H' = ⌊H/k⌋, as torch.nn.AvgPool2d(k))
//   avgPoolBackward: dx[n, c, p, q] = dy[n, c, ⌊p/k⌋, ⌊q/k⌋] / k² inside the pooled area, 0 in a cut-off edge
//   globalAvgPool:   y[n, c] = (1/HW) Σ_p x[n, c, p]          (torch's AdaptiveAvgPool2d(1) then flatten)
//   globalAvgPoolBackward: dx[n, c, p] = dy[n, c] / HW
// Both are linear, so their forward-mode product is the forward pass itself. One invocation per output value;
// every sum runs in a fixed order, so the results are the same bits every run.
import { FLAT_WORKGROUP_INDEX, ceilDiv, flatGrid, type KernelDef } from '../src/gpu/kernel.ts';

const WG = 256;

export interface PoolShape {
  /** Examples, channels, and the input's height and width. */
  b: number;
  c: number;
  h: number;
  w: number;
  /** Window and stride (avgPool); ignored by the global pool. */
  k: number;
}

const uniforms = (s: PoolShape) => Uint32Array.of(s.b, s.c, s.h, s.w, Math.max(1, s.k), 0, 0, 0);
const pooled = (s: PoolShape) => Math.floor(s.h / s.k) * Math.floor(s.w / s.k);

const PARAMS = `struct Params { b: u32, c: u32, h: u32, w: u32, k: u32, pad0: u32, pad1: u32, pad2: u32 }`;

export const avgPool: KernelDef<PoolShape> = {
  name: 'average pool',
  key: 'avg-pool',
  source: /* wgsl */ `
${PARAMS}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let e = ${FLAT_WORKGROUP_INDEX} * ${WG}u + tid;
  let ho = p.h / p.k;
  let wo = p.w / p.k;
  if (e >= p.b * p.c * ho * wo) { return; }
  let j = e % wo;
  let i = (e / wo) % ho;
  let plane = e / (wo * ho);
  let base = plane * p.h * p.w + (i * p.k) * p.w + j * p.k;
  var acc = 0.0;
  for (var u = 0u; u < p.k; u++) {
    for (var v = 0u; v < p.k; v++) { acc += x[base + u * p.w + v]; }
  }
  y[e] = acc / f32(p.k * p.k);
}
`,
  workgroupSize: [WG, 1, 1],
  bindings: ['read', 'write', 'uniform'],
  grid: (s) => flatGrid(ceilDiv(s.b * s.c * pooled(s), WG)),
  uniforms,
};

export const avgPoolBackward: KernelDef<PoolShape> = {
  name: 'average pool backward',
  key: 'avg-pool-backward',
  source: /* wgsl */ `
${PARAMS}
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let e = ${FLAT_WORKGROUP_INDEX} * ${WG}u + tid;
  if (e >= p.b * p.c * p.h * p.w) { return; }
  let q = e % p.w;
  let r = (e / p.w) % p.h;
  let plane = e / (p.w * p.h);
  let ho = p.h / p.k;
  let wo = p.w / p.k;
  let i = r / p.k;
  let j = q / p.k;
  if (i >= ho || j >= wo) {
    dx[e] = 0.0;
    return;
  }
  dx[e] = dy[plane * ho * wo + i * wo + j] / f32(p.k * p.k);
}
`,
  workgroupSize: [WG, 1, 1],
  bindings: ['read', 'write', 'uniform'],
  grid: (s) => flatGrid(ceilDiv(s.b * s.c * s.h * s.w, WG)),
  uniforms,
};

export const globalAvgPool: KernelDef<PoolShape> = {
  name: 'global average pool',
  key: 'global-avg-pool',
  source: /* wgsl */ `
${PARAMS}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let e = ${FLAT_WORKGROUP_INDEX} * ${WG}u + tid;
  if (e >= p.b * p.c) { return; }
  let hw = p.h * p.w;
  var acc = 0.0;
  for (var q = 0u; q < hw; q++) { acc += x[e * hw + q]; }
  y[e] = acc / f32(hw);
}
`,
  workgroupSize: [WG, 1, 1],
  bindings: ['read', 'write', 'uniform'],
  grid: (s) => flatGrid(ceilDiv(s.b * s.c, WG)),
  uniforms,
};

export const globalAvgPoolBackward: KernelDef<PoolShape> = {
  name: 'global average pool backward',
  key: 'global-avg-pool-backward',
  source: /* wgsl */ `
${PARAMS}
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let e = ${FLAT_WORKGROUP_INDEX} * ${WG}u + tid;
  let hw = p.h * p.w;
  if (e >= p.b * p.c * hw) { return; }
  dx[e] = dy[e / hw] / f32(hw);
}
`,
  workgroupSize: [WG, 1, 1],
  bindings: ['read', 'write', 'uniform'],
  grid: (s) => flatGrid(ceilDiv(s.b * s.c * s.h * s.w, WG)),
  uniforms,
};
