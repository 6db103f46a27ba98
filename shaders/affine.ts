// Maps with elementwise parameters, in NCHW rows (b examples of C channels × P positions): layer norm's
// per-channel scale γ and shift, and position embeddings (one value per channel and position).
//   channelScale:      out[n, c, q] = α·s[c]·x[n, c, q]
//   channelReduce:     out[c] = α·Σ_{n,q} a[n, c, q]·b[n, c, q]   (dot; or α·Σ a alone: sum)
//   channelPerExample: J[r, u] = α·Σ_q δ[r, c0 + u, q]·x[r mod n, c0 + u, q]  for u < units, then, with β ≠ 0,
//                      J[r, units + u] = β·Σ_q δ[r, c0 + u, q]  (the scale's and the shift's Jacobian rows)
//   embedPerExample:   J[r, j] = α·δ[r, c0·P + j]  for j < units·P (an embedding's Jacobian rows are δ itself)
// The shift's own forward pass and gradient are the bias kernels (bias-act.ts, conv2d.ts) with P positions
// per bias. One invocation per output value, every sum in a fixed order: the same bits every run.
import { FLAT_WORKGROUP_INDEX, ceilDiv, f32Bits, flatGrid, memoByKey, type KernelDef } from '../src/gpu/kernel.ts';

export interface ChannelShape {
  /** Rows (examples), channels, positions per channel. */
  b: number;
  c: number;
  positions: number;
  alpha: number;
}

export interface ChannelPerExampleShape extends ChannelShape {
  /** Rows of δ and J (n·k); x has `b` = n rows. */
  rows: number;
  c0: number;
  units: number;
  /** β, or 0 for no shift columns. */
  beta: number;
}

const WG = 64;

const PARAMS = `struct Params { b: u32, c: u32, positions: u32, alpha: f32, rows: u32, c0: u32, units: u32, beta: f32 }`;

const uniforms = (s: ChannelShape & Partial<ChannelPerExampleShape>) =>
  Uint32Array.of(s.b, s.c, s.positions, f32Bits(s.alpha), s.rows ?? 0, s.c0 ?? 0, s.units ?? 0, f32Bits(s.beta ?? 0));

export const channelScale: KernelDef<ChannelShape> = {
  name: 'per-channel scale',
  key: 'channel-scale',
  source: /* wgsl */ `
${PARAMS}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> s: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let e = ${FLAT_WORKGROUP_INDEX} * ${WG}u + tid;
  if (e >= p.b * p.c * p.positions) { return; }
  out[e] = p.alpha * s[(e / p.positions) % p.c] * x[e];
}
`,
  workgroupSize: [WG, 1, 1],
  bindings: ['read', 'read', 'write', 'uniform'],
  grid: (s) => flatGrid(ceilDiv(s.b * s.c * s.positions, WG)),
  uniforms,
};

export const channelReduce = memoByKey(
  (o: { dot: boolean }) => (o.dot ? 'channel-dot' : 'channel-sum'),
  (o, key): KernelDef<ChannelShape> => ({
    name: o.dot ? 'per-channel dot product' : 'per-channel sum',
    key,
    source: /* wgsl */ `
${PARAMS}
@group(0) @binding(0) var<storage, read> a: array<f32>;
${o.dot ? '@group(0) @binding(1) var<storage, read> b: array<f32>;' : ''}
@group(0) @binding(${o.dot ? 2 : 1}) var<storage, read_write> out: array<f32>;
@group(0) @binding(${o.dot ? 3 : 2}) var<uniform> p: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let c = ${FLAT_WORKGROUP_INDEX} * ${WG}u + tid;
  if (c >= p.c) { return; }
  var acc = 0.0;
  for (var n = 0u; n < p.b; n++) {
    let base = (n * p.c + c) * p.positions;
    for (var q = 0u; q < p.positions; q++) { acc += a[base + q]${o.dot ? ' * b[base + q]' : ''}; }
  }
  out[c] = p.alpha * acc;
}
`,
    workgroupSize: [WG, 1, 1],
    bindings: o.dot ? ['read', 'read', 'write', 'uniform'] : ['read', 'write', 'uniform'],
    grid: (s) => flatGrid(ceilDiv(s.c, WG)),
    uniforms,
  }),
);

export const channelPerExample: KernelDef<ChannelPerExampleShape> = {
  name: 'per-channel scale and shift, per-example gradients',
  key: 'channel-per-example',
  source: /* wgsl */ `
${PARAMS}
@group(0) @binding(0) var<storage, read> delta: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> J: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let e = ${FLAT_WORKGROUP_INDEX} * ${WG}u + tid;
  let shifts = select(0u, p.units, p.beta != 0.0);
  let cols = p.units + shifts;
  if (e >= p.rows * cols) { return; }
  let r = e / cols;
  let j = e % cols;
  let u = select(j, j - p.units, j >= p.units);
  let channel = p.c0 + u;
  let d0 = (r * p.c + channel) * p.positions;
  var acc = 0.0;
  if (j < p.units) {
    let x0 = ((r % p.b) * p.c + channel) * p.positions;
    for (var q = 0u; q < p.positions; q++) { acc += delta[d0 + q] * x[x0 + q]; }
    J[e] = p.alpha * acc;
  } else {
    for (var q = 0u; q < p.positions; q++) { acc += delta[d0 + q]; }
    J[e] = p.beta * acc;
  }
}
`,
  workgroupSize: [WG, 1, 1],
  bindings: ['read', 'read', 'write', 'uniform'],
  grid: (s) => flatGrid(ceilDiv(s.rows * (s.units + (s.beta !== 0 ? s.units : 0)), WG)),
  uniforms,
};

export const embedPerExample: KernelDef<ChannelPerExampleShape> = {
  name: 'embedding per-example gradients',
  key: 'embed-per-example',
  source: /* wgsl */ `
${PARAMS}
@group(0) @binding(0) var<storage, read> delta: array<f32>;
@group(0) @binding(1) var<storage, read_write> J: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let e = ${FLAT_WORKGROUP_INDEX} * ${WG}u + tid;
  let cols = p.units * p.positions;
  if (e >= p.rows * cols) { return; }
  let r = e / cols;
  J[e] = p.alpha * delta[r * p.c * p.positions + p.c0 * p.positions + e % cols];
}
`,
  workgroupSize: [WG, 1, 1],
  bindings: ['read', 'write', 'uniform'],
  grid: (s) => flatGrid(ceilDiv(s.rows * s.units * s.positions, WG)),
  uniforms,
};
