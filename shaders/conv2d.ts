// 2-D convolution (PyTorch's Conv2d, square kernels, stride s, zero padding p) as implicit GEMM: the patch
// matrix is never formed; each kernel computes its operand's indices on the fly.
//
// Layouts: x is b rows of Cin·H·W (NCHW), W is OIHW [Cout, Cin, k, k] row-major (so its row co, of length
// K = Cin·k·k, is indexed by kk = (ci·k + ky)·k + kx), outputs are NCHW with H' = ⌊(H + 2p − k)/s⌋ + 1 and P = H'·W'.
//   conv2dForward:    pre[n, co, q]   = α Σ_kk W[co, kk] · patch(x, n, q, kk)         rows (n, q), columns co
//   conv2dInputGrad:  dx[n, ci, r]    = α Σ_{co,ky,kx} W[co, ci, ky, kx] · dy[n, co, q(r, ky, kx)]
//                     (q(r, ky, kx): the output whose window puts tap (ky, kx) on input position r, if any)
//                                                                                     rows (n, r), columns ci
//   conv2dWeightGrad: dW[co, kk]      = α Σ_{n,q} dy[n, co, q] · patch(x, n, q, kk)   rows co, columns kk, the
//                     reduction over b·P in z slices (slice z writes its own copy of dW: reduce.ts adds them);
//                     perExample: one z per row r of δ (r = a·n + i: output a of example i), the reduction over
//                     that example's P positions only, written as row r of J for output channels c0..c0+units−1
//   conv2dBiasGrad:   db[co]          = β Σ_{n,q} dy[n, co, q]
//   conv2dPerExampleBias: J[r, units·K + u] = β Σ_q δ[r, c0 + u, q], the bias columns after the weights'
// where patch(x, n, q, kk) = x[n, ci, oy·s + ky − p, ox·s + kx − p], zero outside the image.
//
// The three products are register-tiled like gemm-tiled.ts's direct variant: an invocation owns TM rows × TN
// columns of the output in named registers and reads its operands straight from storage. A tap outside the image
// is a select of 0: its (unclamped) read may fall outside the buffer, which WebGPU's robust buffer access makes a
// harmless in-bounds read or zero, and select discards it, so the loop has neither branches nor clamps. Row and
// channel offsets are hoisted out of the tap loop; stride 1 is compiled apart, without divisions. The tile
// (workgroup wx×wy, TM = TN = 4) is chosen per shape to leave as few lanes idle as possible (16 output channels
// leave half of a 32-wide tile idle). No kernel uses atomics: every sum runs in a fixed order.
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { ceilDiv, f32Bits, memoByKey, type KernelDef } from '../src/gpu/kernel.ts';
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

export interface ConvTile {
  wx: number;
  wy: number;
}

const TM = 4;
const TN = 4;
/** The tiles convTile chooses from (exported for the kernel checks, which run every one). */
export const CONV_TILES: readonly ConvTile[] = [
  { wx: 8, wy: 8 },
  { wx: 4, wy: 16 },
  { wx: 2, wy: 32 },
  { wx: 1, wy: 64 },
  { wx: 16, wy: 4 },
  { wx: 32, wy: 2 },
];

/** The tile that leaves the fewest output slots idle for an M×N output (ties: the squarest, listed first). */
export function convTile(M: number, N: number): ConvTile {
  let best = CONV_TILES[0];
  let bestWaste = Infinity;
  for (const t of CONV_TILES) {
    const bm = t.wy * TM;
    const bn = t.wx * TN;
    const waste = ceilDiv(M, bm) * bm * ceilDiv(N, bn) * bn;
    if (waste < bestWaste) {
      best = t;
      bestWaste = waste;
    }
  }
  return best;
}

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

const store = (buffer: string, index: string, cond: string, value: string) => `  if (${cond}) { ${buffer}[${index}] = ${value}; }`;
const stores = (t: ConvTile, buffer: string, index: (i: number, j: number) => string, cond: (i: number, j: number) => string) =>
  unroll(TM * TN, (e) => store(buffer, index(Math.floor(e / TN), e % TN), cond(Math.floor(e / TN), e % TN), `p.alpha * acc${e}`));
const fmas = (indent: string) => unroll(TM * TN, (e) => `${indent}acc${e} += a${Math.floor(e / TN)} * b${e % TN};`);
const tileKey = (t: ConvTile) => `${t.wx}x${t.wy}`;

export interface ConvKernelOptions {
  tile: ConvTile;
  /** Stride 1, compiled without the divisions a general stride needs (the input gradient). */
  unitStride: boolean;
}

export const conv2dForward = memoByKey(
  (o: ConvKernelOptions) => `conv2d-forward:${tileKey(o.tile)}`,
  (o, key): KernelDef<ConvShape> => {
    const { wx, wy } = o.tile;
    const [bm, bn] = [TM * wy, TN * wx];
    return {
      name: `conv2d forward ${bm}×${bn}`,
      key,
      source: wgsl`
${PARAMS}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> wt: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${wx}, ${wy}, 1)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let P = p.ho * p.wo;
  let M = p.b * P;
  let K = p.cin * p.k * p.k;
  let HW = p.h * p.w;
  let row0 = wid.y * ${bm}u + lid.y;
  let col0 = wid.x * ${bn}u + lid.x;
  // Rows (n, oy, ox) and columns co this invocation owns; past the edge they are clamped onto the last.
${unroll(TM, (i) => `  let m${i} = min(row0 + ${i * wy}u, M - 1u);
  let q${i} = m${i} % P;
  let iy${i} = i32((q${i} / p.wo) * p.stride) - i32(p.pad);
  let ix${i} = i32((q${i} % p.wo) * p.stride) - i32(p.pad);
  let xb${i} = (m${i} / P) * p.cin * HW;`)}
${unroll(TN, (j) => `  let wb${j} = min(col0 + ${j * wx}u, p.cout - 1u) * K;`)}
${unroll(TM * TN, (e) => `  var acc${e} = 0.0;`)}
  var kk = 0u;
  for (var ci = 0u; ci < p.cin; ci++) {
    for (var ky = 0u; ky < p.k; ky++) {
${unroll(TM, (i) => `      let ry${i} = iy${i} + i32(ky);
      let inY${i} = u32(ry${i}) < p.h;
      let off${i} = xb${i} + ci * HW + u32(ry${i}) * p.w;`)}
      for (var kx = 0u; kx < p.k; kx++) {
${unroll(TM, (i) => `        let rx${i} = u32(ix${i} + i32(kx));
        let a${i} = select(0.0, x[off${i} + rx${i}], inY${i} && rx${i} < p.w);`)}
${unroll(TN, (j) => `        let b${j} = wt[wb${j} + kk];`)}
${fmas('        ')}
        kk++;
      }
    }
  }
${stores(o.tile, 'y', (i, j) => `((m${i} / P) * p.cout + col0 + ${j * wx}u) * P + q${i}`, (i, j) => `row0 + ${i * wy}u < M && col0 + ${j * wx}u < p.cout`)}
}
`,
      workgroupSize: [wx, wy, 1],
      bindings: ['read', 'read', 'write', 'uniform'],
      grid: (s) => {
        const [ho, wo] = convOutput(s);
        return [ceilDiv(s.cout, bn), ceilDiv(s.b * ho * wo, bm), 1];
      },
      uniforms: (s) => uniforms(s),
    };
  },
);

export const conv2dInputGrad = memoByKey(
  (o: ConvKernelOptions) => `conv2d-input-grad:${tileKey(o.tile)}${o.unitStride ? ':s1' : ''}`,
  (o, key): KernelDef<ConvShape> => {
    const { wx, wy } = o.tile;
    const [bm, bn] = [TM * wy, TN * wx];
    // The output row (column) whose tap ky (kx) lands on this input row: oy·s = iy + p − ky, if it divides.
    const outIndex = (v: string, t: string) =>
      o.unitStride ? `let ${v} = ${t};\n        let ${v}ok = u32(${v}) <` : `let ${v} = ${t} / s;\n        let ${v}ok = ${t} >= 0 && ${t} % s == 0 && u32(${v}) <`;
    return {
      name: `conv2d input gradient ${bm}×${bn}${o.unitStride ? ' (stride 1)' : ''}`,
      key,
      source: wgsl`
${PARAMS}
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> wt: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${wx}, ${wy}, 1)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let HW = p.h * p.w;
  let P = p.ho * p.wo;
  let M = p.b * HW;
  let KK = p.k * p.k;
  let s = i32(p.stride);
  let row0 = wid.y * ${bm}u + lid.y;
  let col0 = wid.x * ${bn}u + lid.x;
  // Rows are input positions (n, iy, ix), columns input channels ci.
${unroll(TM, (i) => `  let m${i} = min(row0 + ${i * wy}u, M - 1u);
  let r${i} = m${i} % HW;
  let ty${i} = i32(r${i} / p.w) + i32(p.pad);
  let tx${i} = i32(r${i} % p.w) + i32(p.pad);
  let db${i} = (m${i} / HW) * p.cout * P;`)}
${unroll(TN, (j) => `  let wb${j} = min(col0 + ${j * wx}u, p.cin - 1u) * KK;`)}
${unroll(TM * TN, (e) => `  var acc${e} = 0.0;`)}
  for (var co = 0u; co < p.cout; co++) {
    let cw = co * p.cin * KK;
    for (var ky = 0u; ky < p.k; ky++) {
${unroll(TM, (i) => `        ${outIndex(`oy${i}`, `(ty${i} - i32(ky))`)} p.ho;
        let off${i} = db${i} + co * P + u32(oy${i}) * p.wo;`)}
      for (var kx = 0u; kx < p.k; kx++) {
${unroll(TM, (i) => `        ${outIndex(`ox${i}`, `(tx${i} - i32(kx))`)} p.wo;
        let a${i} = select(0.0, dy[off${i} + u32(ox${i})], oy${i}ok && ox${i}ok);`)}
${unroll(TN, (j) => `        let b${j} = wt[cw + wb${j} + ky * p.k + kx];`)}
${fmas('        ')}
      }
    }
  }
${stores(o.tile, 'dx', (i, j) => `((m${i} / HW) * p.cin + col0 + ${j * wx}u) * HW + r${i}`, (i, j) => `row0 + ${i * wy}u < M && col0 + ${j * wx}u < p.cin`)}
}
`,
      workgroupSize: [wx, wy, 1],
      bindings: ['read', 'read', 'write', 'uniform'],
      grid: (s) => [ceilDiv(s.cin, bn), ceilDiv(s.b * s.h * s.w, bm), 1],
      uniforms: (s) => uniforms(s),
    };
  },
);

/** Reduction elements per slice of the weight gradient: about a 1/splits share, at least 64. */
export function weightGradChunk(s: ConvGeometry, splits: number): number {
  const [ho, wo] = convOutput(s);
  return Math.max(64, ceilDiv(s.b * ho * wo, Math.max(1, splits)));
}

export interface WeightGradOptions {
  tile: ConvTile;
  /** One z per row of δ, written as a row of the Jacobian (conv2dPerExample), instead of reduction slices. */
  perExample: boolean;
}

/** The weight-gradient kernel for a given tile (conv2dWeightGrad and conv2dPerExample pick it by shape). */
export const conv2dWeightGradTiled = memoByKey(
  (o: WeightGradOptions) => `conv2d-weight-grad:${tileKey(o.tile)}${o.perExample ? ':per-example' : ''}`,
  (o, key): KernelDef<ConvShape & Partial<ConvPerExampleShape>> => {
    const { wx, wy } = o.tile;
    const [bm, bn] = [TM * wy, TN * wx];
    const per = o.perExample;
    return {
      name: per ? `conv2d per-example gradients ${bm}×${bn}` : `conv2d weight gradient ${bm}×${bn}`,
      key,
      source: wgsl`
${PARAMS}
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> dw: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${wx}, ${wy}, 1)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let P = p.ho * p.wo;
  let K = p.cin * p.k * p.k;
  let HW = p.h * p.w;
  let row0 = wid.y * ${bm}u + lid.y;
  let col0 = wid.x * ${bn}u + lid.x;
#if ${per}
  // Rows are output channels c0.. of this chunk, z the row r of δ (example r mod n), the reduction its P positions.
  let nRows = p.units;
  let r = wid.z;
  let dyBase = r * p.cout * P;
  let xBase = (r % p.b) * p.cin * HW;
  let t0 = 0u;
  let t1 = P;
#else
  // Rows are output channels co, z the slice [z·kChunk, …) of the b·P reduction elements (n, q).
  let nRows = p.cout;
  let t0 = wid.z * p.kChunk;
  let t1 = min(p.b * P, t0 + p.kChunk);
#endif
${unroll(TM, (i) => `  let co${i} = ${per ? 'p.c0 + ' : ''}min(row0 + ${i * wy}u, nRows - 1u);`)}
  // Columns are taps kk = (ci, ky, kx).
${unroll(TN, (j) => `  let kk${j} = min(col0 + ${j * wx}u, K - 1u);
  let ci${j} = kk${j} / (p.k * p.k);
  let ky${j} = i32((kk${j} / p.k) % p.k) - i32(p.pad);
  let kx${j} = i32(kk${j} % p.k) - i32(p.pad);
  let xc${j} = ci${j} * HW;`)}
${unroll(TM * TN, (e) => `  var acc${e} = 0.0;`)}
  for (var t = t0; t < t1; t++) {
#if ${per}
    let q = t;
    let xb = xBase;
    let db = dyBase + q;
#else
    let q = t % P;
    let n = t / P;
    let xb = n * p.cin * HW;
    let db = n * p.cout * P + q;
#endif
    let oy = i32((q / p.wo) * p.stride);
    let ox = i32((q % p.wo) * p.stride);
${unroll(TM, (i) => `    let a${i} = dy[db + co${i} * P];`)}
${unroll(TN, (j) => `    let ry${j} = u32(oy + ky${j});
    let rx${j} = u32(ox + kx${j});
    let b${j} = select(0.0, x[xb + xc${j} + ry${j} * p.w + rx${j}], ry${j} < p.h && rx${j} < p.w);`)}
${fmas('    ')}
  }
#if ${per}
${stores(o.tile, 'dw', (i, j) => `r * p.cols + (row0 + ${i * wy}u) * K + col0 + ${j * wx}u`, (i, j) => `row0 + ${i * wy}u < p.units && col0 + ${j * wx}u < K`)}
#else
  let slice = wid.z * p.cout * K;
${stores(o.tile, 'dw', (i, j) => `slice + (row0 + ${i * wy}u) * K + col0 + ${j * wx}u`, (i, j) => `row0 + ${i * wy}u < p.cout && col0 + ${j * wx}u < K`)}
#endif
}
`,
      workgroupSize: [wx, wy, 1],
      bindings: ['read', 'read', 'write', 'uniform'],
      grid: (s) => [ceilDiv(s.cin * s.k * s.k, bn), ceilDiv(per ? s.units! : s.cout, bm), per ? s.rows! : Math.max(1, s.splits ?? 1)],
      uniforms: (s) => (per ? uniforms({ ...s, cols: convChunkColumns(s as ConvPerExampleShape) }) : uniforms({ ...s, kChunk: weightGradChunk(s, s.splits ?? 1) })),
    };
  },
);

/** dW of a convolution (slices of the reduction when `splits` > 1), with the tile suited to its shape. */
export const conv2dWeightGrad = (g: Pick<ConvGeometry, 'cout' | 'cin' | 'k'>) => conv2dWeightGradTiled({ tile: convTile(g.cout, g.cin * g.k * g.k), perExample: false });

/** Rows of the Jacobian for output channels c0.. (the weight columns; conv2dPerExampleBias adds the bias columns). */
export const conv2dPerExample = (g: Pick<ConvPerExampleShape, 'units' | 'cin' | 'k'>) =>
  conv2dWeightGradTiled({ tile: convTile(g.units, g.cin * g.k * g.k), perExample: true }) as unknown as KernelDef<ConvPerExampleShape>;

const WG = 64;

export const conv2dBiasGrad: KernelDef<ConvShape> = {
  name: 'conv2d bias gradient',
  key: 'conv2d-bias-grad',
  source: /* wgsl */ `
${PARAMS}
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read_write> db: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(${WG})
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
  workgroupSize: [WG, 1, 1],
  bindings: ['read', 'write', 'uniform'],
  grid: (s) => [ceilDiv(s.cout, WG), 1, 1],
  uniforms: (s) => uniforms(s),
};

export const conv2dPerExampleBias: KernelDef<ConvPerExampleShape> = {
  name: 'conv2d per-example bias gradients',
  key: 'conv2d-per-example-bias',
  source: /* wgsl */ `
${PARAMS}
@group(0) @binding(0) var<storage, read> delta: array<f32>;
@group(0) @binding(1) var<storage, read_write> jac: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let e = gid.x;
  if (e >= p.rows * p.units) { return; }
  let r = e / p.units;
  let u = e % p.units;
  let P = p.ho * p.wo;
  let base = (r * p.cout + p.c0 + u) * P;
  var acc = 0.0;
  for (var q = 0u; q < P; q++) { acc += delta[base + q]; }
  jac[r * p.cols + p.units * p.cin * p.k * p.k + u] = p.beta * acc;
}
`,
  workgroupSize: [WG, 1, 1],
  bindings: ['read', 'write', 'uniform'],
  grid: (s) => [ceilDiv(s.rows * s.units, WG), 1, 1],
  uniforms: (s) => uniforms({ ...s, cols: convChunkColumns(s) }),
};

/** The forward kernel suited to the shape (the tile by the output's rows and channels). */
export const conv2dForwardFor = (g: ConvGeometry) => {
  const [ho, wo] = convOutput(g);
  return conv2dForward({ tile: convTile(g.b * ho * wo, g.cout), unitStride: g.stride === 1 });
};

/** The input-gradient kernel suited to the shape. */
export const conv2dInputGradFor = (g: ConvGeometry) => conv2dInputGrad({ tile: convTile(g.b * g.h * g.w, g.cin), unitStride: g.stride === 1 });
