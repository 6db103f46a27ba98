// 2-D convolution (PyTorch's Conv2d, square kernels, stride s, zero padding p) as implicit GEMM: the patch
// matrix is never formed; each kernel computes its operand's indices on the fly.
//
// Layouts: x is b rows of Cin·H·W (NCHW), W is OIHW [Cout, Cin, k, k] row-major (so its row co, of length
// K = Cin·k·k, is indexed by kk = (ci·k + ky)·k + kx), outputs are NCHW with H' = ⌊(H + 2p − k)/s⌋ + 1 and P = H'·W'.
//   conv2dForward:    pre[n, co, q]   = α Σ_kk W[co, kk] · patch(x, n, q, kk)         M = b·P rows, N = Cout
//   conv2dInputGrad:  dx[n, ci, r]    = α Σ_{co,ky,kx} W[co, ci, ky, kx] · dy[n, co, q(r, ky, kx)]
//                     (q(r, ky, kx): the output whose window puts tap (ky, kx) on input position r, if any)
//   conv2dWeightGrad: dW[co, kk]      = α Σ_{n,q} dy[n, co, q] · patch(x, n, q, kk)   over b·P, in z slices
//   conv2dBiasGrad:   db[co]          = β Σ_{n,q} dy[n, co, q]
//   conv2dPerExample: J[r, (co−c0)·K + kk] = α Σ_q δ[r, co, q] · patch(x, r mod n, q, kk), then the bias
//                     columns J[r, units·K + co − c0] = β Σ_q δ[r, co, q]: rows of the Jacobian for output
//                     channels c0.. of the layer (rows r = a·n + i, output a of example i, as src/ntk/gram.ts stacks δ)
// where patch(x, n, q, kk) = x[n, ci, oy·s + ky − p, ox·s + kx − p], zero outside the image.
//
// The first three are register-tiled like gemm-tiled.ts's direct variant: each invocation owns TM rows × TN
// columns of the output in named registers, reads its operands straight from storage (out-of-image taps and
// edge rows are clamped reads turned to zero by select, so control flow needs no branch), and writes only in
// range. No kernel uses atomics: every sum runs in a fixed order, and the weight gradient's slices are added in
// slice order by reduce.ts's sumSlices.
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { FLAT_WORKGROUP_INDEX, ceilDiv, f32Bits, flatGrid, type KernelDef } from '../src/gpu/kernel.ts';
import { unroll } from './gemm-tiled.ts';

export interface ConvGeometry {
  /** Examples (the batch's rows). */
  b: number;
  cin: number;
  h: number;
  w: number;
  cout: number;
  /** Kernel size (k×k), stride, zero padding. */
  k: number;
  stride: number;
  pad: number;
}

export interface ConvShape extends ConvGeometry {
  alpha?: number;
  /** conv2dWeightGrad: the number of reduction slices (each writes its own copy of dW). */
  splits?: number;
}

export interface ConvPerExampleShape extends ConvGeometry {
  /** Rows of δ and J (n·k for k outputs); x has `b` = n rows. */
  rows: number;
  /** Output channels c0 .. c0 + units − 1. */
  c0: number;
  units: number;
  alpha: number;
  /** β, or 0 when the layer has no bias (no bias columns). */
  beta: number;
}

/** Output height and width of a convolution. */
export function convOutput(g: Pick<ConvGeometry, 'h' | 'w' | 'k' | 'stride' | 'pad'>): [number, number] {
  return [Math.floor((g.h + 2 * g.pad - g.k) / g.stride) + 1, Math.floor((g.w + 2 * g.pad - g.k) / g.stride) + 1];
}

/** Columns of a per-example chunk: the units' weights, then their biases if the layer has any. */
export const convChunkColumns = (s: Pick<ConvPerExampleShape, 'units' | 'cin' | 'k' | 'beta'>) => s.units * s.cin * s.k * s.k + (s.beta !== 0 ? s.units : 0);

const TM = 4;
const TN = 4;
const WX = 8;
const WY = 8;
const BM = TM * WY;
const BN = TN * WX;
const WG = 256;

const PARAMS = `struct Params {
  b: u32, cin: u32, h: u32, w: u32,
  cout: u32, ho: u32, wo: u32, k: u32,
  stride: u32, pad: u32, kChunk: u32, c0: u32,
  units: u32, rows: u32, cols: u32, unused: u32,
  alpha: f32, beta: f32, unused1: f32, unused2: f32,
}`;

function uniforms(s: ConvGeometry & { alpha?: number; kChunk?: number; c0?: number; units?: number; rows?: number; cols?: number; beta?: number }): Uint32Array {
  const [ho, wo] = convOutput(s);
  return Uint32Array.of(s.b, s.cin, s.h, s.w, s.cout, ho, wo, s.k, s.stride, s.pad, s.kChunk ?? 0, s.c0 ?? 0, s.units ?? 0, s.rows ?? 0, s.cols ?? 0, 0, f32Bits(s.alpha ?? 1), f32Bits(s.beta ?? 0), 0, 0);
}

/** WGSL: `value` of x at example base, channel ci, tap (ky, kx) of output (oy, ox), zero outside the image. */
const patch = (v: string, base: string, ci: string, oy: string, ox: string, ky: string, kx: string) => `
    let ${v}iy = i32(${oy} * p.stride + ${ky}) - i32(p.pad);
    let ${v}ix = i32(${ox} * p.stride + ${kx}) - i32(p.pad);
    let ${v}in = ${v}iy >= 0 && ${v}iy < i32(p.h) && ${v}ix >= 0 && ${v}ix < i32(p.w);
    let ${v} = select(0.0, x[${base} + (${ci} * p.h + u32(clamp(${v}iy, 0, i32(p.h) - 1))) * p.w + u32(clamp(${v}ix, 0, i32(p.w) - 1))], ${v}in);`;

const store = (buffer: string, index: string, cond: string, value: string) => `  if (${cond}) { ${buffer}[${index}] = ${value}; }`;

export const conv2dForward: KernelDef<ConvShape> = {
  name: 'conv2d forward',
  key: 'conv2d-forward',
  source: wgsl`
${PARAMS}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> wt: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${WX}, ${WY}, 1)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let P = p.ho * p.wo;
  let M = p.b * P;
  let K = p.cin * p.k * p.k;
  let row0 = wid.y * ${BM}u + lid.y;
  let col0 = wid.x * ${BN}u + lid.x;
  // Rows (n, oy, ox) and columns co this invocation owns; past the edge they are clamped onto the last.
${unroll(TM, (i) => `  let m${i} = min(row0 + ${i * WY}u, M - 1u);
  let n${i} = m${i} / P;
  let q${i} = m${i} % P;
  let oy${i} = q${i} / p.wo;
  let ox${i} = q${i} % p.wo;
  let xb${i} = n${i} * p.cin * p.h * p.w;`)}
${unroll(TN, (j) => `  let co${j} = min(col0 + ${j * WX}u, p.cout - 1u);`)}
${unroll(TM * TN, (e) => `  var acc${e} = 0.0;`)}
  for (var ci = 0u; ci < p.cin; ci++) {
    for (var ky = 0u; ky < p.k; ky++) {
      for (var kx = 0u; kx < p.k; kx++) {
        let kk = (ci * p.k + ky) * p.k + kx;
${unroll(TM, (i) => patch(`a${i}`, `xb${i}`, 'ci', `oy${i}`, `ox${i}`, 'ky', 'kx'))}
${unroll(TN, (j) => `        let b${j} = wt[co${j} * K + kk];`)}
${unroll(TM * TN, (e) => `        acc${e} += a${Math.floor(e / TN)} * b${e % TN};`)}
      }
    }
  }
${unroll(TM * TN, (e) => {
  const i = Math.floor(e / TN);
  const j = e % TN;
  return store('y', `(n${i} * p.cout + co${j}) * P + q${i}`, `row0 + ${i * WY}u < M && col0 + ${j * WX}u < p.cout`, `p.alpha * acc${e}`);
})}
}
`,
  workgroupSize: [WX, WY, 1],
  bindings: ['read', 'read', 'write', 'uniform'],
  grid: (s) => {
    const [ho, wo] = convOutput(s);
    return [ceilDiv(s.cout, BN), ceilDiv(s.b * ho * wo, BM), 1];
  },
  uniforms: (s) => uniforms(s),
};

export const conv2dInputGrad: KernelDef<ConvShape> = {
  name: 'conv2d input gradient',
  key: 'conv2d-input-grad',
  source: wgsl`
${PARAMS}
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> wt: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${WX}, ${WY}, 1)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let HW = p.h * p.w;
  let P = p.ho * p.wo;
  let M = p.b * HW;
  let row0 = wid.y * ${BM}u + lid.y;
  let col0 = wid.x * ${BN}u + lid.x;
  // Rows are input positions (n, iy, ix), columns input channels ci.
${unroll(TM, (i) => `  let m${i} = min(row0 + ${i * WY}u, M - 1u);
  let n${i} = m${i} / HW;
  let r${i} = m${i} % HW;
  let iy${i} = i32(r${i} / p.w) + i32(p.pad);
  let ix${i} = i32(r${i} % p.w) + i32(p.pad);
  let db${i} = n${i} * p.cout * P;`)}
${unroll(TN, (j) => `  let ci${j} = min(col0 + ${j * WX}u, p.cin - 1u);`)}
${unroll(TM * TN, (e) => `  var acc${e} = 0.0;`)}
  let s = i32(p.stride);
  for (var co = 0u; co < p.cout; co++) {
    for (var ky = 0u; ky < p.k; ky++) {
      for (var kx = 0u; kx < p.k; kx++) {
        // Output (oy, ox) whose tap (ky, kx) lands on this input position: oy·s = iy + p − ky, if it divides.
${unroll(TM, (i) => `        let ty${i} = iy${i} - i32(ky);
        let tx${i} = ix${i} - i32(kx);
        let oy${i} = ty${i} / s;
        let ox${i} = tx${i} / s;
        let ok${i} = ty${i} >= 0 && tx${i} >= 0 && ty${i} % s == 0 && tx${i} % s == 0 && oy${i} < i32(p.ho) && ox${i} < i32(p.wo);
        let a${i} = select(0.0, dy[db${i} + co * P + u32(clamp(oy${i}, 0, i32(p.ho) - 1)) * p.wo + u32(clamp(ox${i}, 0, i32(p.wo) - 1))], ok${i});`)}
${unroll(TN, (j) => `        let b${j} = wt[((co * p.cin + ci${j}) * p.k + ky) * p.k + kx];`)}
${unroll(TM * TN, (e) => `        acc${e} += a${Math.floor(e / TN)} * b${e % TN};`)}
      }
    }
  }
${unroll(TM * TN, (e) => {
  const i = Math.floor(e / TN);
  const j = e % TN;
  return store('dx', `(n${i} * p.cin + ci${j}) * HW + r${i}`, `row0 + ${i * WY}u < M && col0 + ${j * WX}u < p.cin`, `p.alpha * acc${e}`);
})}
}
`,
  workgroupSize: [WX, WY, 1],
  bindings: ['read', 'read', 'write', 'uniform'],
  grid: (s) => [ceilDiv(s.cin, BN), ceilDiv(s.b * s.h * s.w, BM), 1],
  uniforms: (s) => uniforms(s),
};

/** Reduction elements per slice of the weight gradient: about a 1/splits share, at least 64. */
export function weightGradChunk(s: ConvGeometry, splits: number): number {
  const [ho, wo] = convOutput(s);
  return Math.max(64, ceilDiv(s.b * ho * wo, Math.max(1, splits)));
}

export const conv2dWeightGrad: KernelDef<ConvShape> = {
  name: 'conv2d weight gradient',
  key: 'conv2d-weight-grad',
  source: wgsl`
${PARAMS}
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> dw: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${WX}, ${WY}, 1)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let P = p.ho * p.wo;
  let K = p.cin * p.k * p.k;
  let row0 = wid.y * ${BM}u + lid.y;
  let col0 = wid.x * ${BN}u + lid.x;
  // Rows are output channels co, columns taps kk = (ci, ky, kx); z takes the slice [z·kChunk, …) of the b·P
  // reduction elements (n, q).
${unroll(TM, (i) => `  let co${i} = min(row0 + ${i * WY}u, p.cout - 1u);`)}
${unroll(TN, (j) => `  let kk${j} = min(col0 + ${j * WX}u, K - 1u);
  let ci${j} = kk${j} / (p.k * p.k);
  let ky${j} = (kk${j} / p.k) % p.k;
  let kx${j} = kk${j} % p.k;`)}
${unroll(TM * TN, (e) => `  var acc${e} = 0.0;`)}
  let t0 = wid.z * p.kChunk;
  let t1 = min(p.b * P, t0 + p.kChunk);
  for (var t = t0; t < t1; t++) {
    let n = t / P;
    let q = t % P;
    let oy = q / p.wo;
    let ox = q % p.wo;
    let xb = n * p.cin * p.h * p.w;
${unroll(TM, (i) => `    let a${i} = dy[(n * p.cout + co${i}) * P + q];`)}
${unroll(TN, (j) => patch(`b${j}`, 'xb', `ci${j}`, 'oy', 'ox', `ky${j}`, `kx${j}`))}
${unroll(TM * TN, (e) => `    acc${e} += a${Math.floor(e / TN)} * b${e % TN};`)}
  }
  let slice = wid.z * p.cout * K;
${unroll(TM * TN, (e) => {
  const i = Math.floor(e / TN);
  const j = e % TN;
  return store('dw', `slice + co${i} * K + kk${j}`, `row0 + ${i * WY}u < p.cout && col0 + ${j * WX}u < K`, `p.alpha * acc${e}`);
})}
}
`,
  workgroupSize: [WX, WY, 1],
  bindings: ['read', 'read', 'write', 'uniform'],
  grid: (s) => [ceilDiv(s.cin * s.k * s.k, BN), ceilDiv(s.cout, BM), Math.max(1, s.splits ?? 1)],
  uniforms: (s) => uniforms({ ...s, kChunk: weightGradChunk(s, s.splits ?? 1) }),
};

export const conv2dBiasGrad: KernelDef<ConvShape> = {
  name: 'conv2d bias gradient',
  key: 'conv2d-bias-grad',
  source: /* wgsl */ `
${PARAMS}
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read_write> db: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let co = gid.x;
  if (co >= p.cout) { return; }
  let P = p.ho * p.wo;
  var acc = 0.0;
  for (var n = 0u; n < p.b; n++) {
    let base = (n * p.cout + co) * P;
    for (var q = 0u; q < P; q++) { acc += dy[base + q]; }
  }
  db[co] = p.alpha * acc;
}
`,
  workgroupSize: [64, 1, 1],
  bindings: ['read', 'write', 'uniform'],
  grid: (s) => [ceilDiv(s.cout, 64), 1, 1],
  uniforms: (s) => uniforms(s),
};

export const conv2dPerExample: KernelDef<ConvPerExampleShape> = {
  name: 'conv2d per-example gradients',
  key: 'conv2d-per-example',
  source: wgsl`
${PARAMS}
@group(0) @binding(0) var<storage, read> delta: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> jac: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let e = ${FLAT_WORKGROUP_INDEX} * ${WG}u + tid;
  if (e >= p.rows * p.cols) { return; }
  let r = e / p.cols;
  let col = e % p.cols;
  let P = p.ho * p.wo;
  let K = p.cin * p.k * p.k;
  let weights = p.units * K;
  let n = r % p.b;
  let xb = n * p.cin * p.h * p.w;
  var acc = 0.0;
  if (col < weights) {
    let co = p.c0 + col / K;
    let kk = col % K;
    let ci = kk / (p.k * p.k);
    let ky = (kk / p.k) % p.k;
    let kx = kk % p.k;
    let db = (r * p.cout + co) * P;
    for (var q = 0u; q < P; q++) {
      let oy = q / p.wo;
      let ox = q % p.wo;
${patch('v', 'xb', 'ci', 'oy', 'ox', 'ky', 'kx')}
      acc += delta[db + q] * v;
    }
    jac[e] = p.alpha * acc;
  } else {
    let db = (r * p.cout + p.c0 + col - weights) * P;
    for (var q = 0u; q < P; q++) { acc += delta[db + q]; }
    jac[e] = p.beta * acc;
  }
}
`,
  workgroupSize: [WG, 1, 1],
  bindings: ['read', 'read', 'write', 'uniform'],
  grid: (s) => flatGrid(ceilDiv(s.rows * convChunkColumns(s), WG)),
  uniforms: (s) => uniforms({ ...s, cols: convChunkColumns(s) }),
};
