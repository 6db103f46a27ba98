// Register-tiled matrix product C = op(A)·op(B), op = identity or transpose, for large outputs.
// Each workgroup computes a BM×BN tile of C; each invocation a TM×TN block of it, kept in registers, from
// BK-deep slices of A and B staged in workgroup memory. The z grid dimension splits K into chunks: with more
// than one chunk, slice z of the output buffer (z·M·N onward) receives the partial product over chunk z,
// and a fixed-order pass (reduce.ts, sumSlices) adds the slices, so split-K stays deterministic.
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { ceilDiv, f32Bits, memoByKey, type KernelDef } from '../src/gpu/kernel.ts';

export interface GemmShape {
  /** op(A) is M×K, op(B) is K×N, C is M×N. */
  M: number;
  N: number;
  K: number;
  /** Number of K chunks (split-K); 1 writes C directly. */
  splits?: number;
  /** C = alpha·op(A)·op(B); 1 by default. */
  alpha?: number;
}

export interface TileConfig {
  /** Invocations per workgroup along columns (x) and rows (y). */
  wx: number;
  wy: number;
  /** Outputs per invocation along rows and columns. */
  tm: number;
  tn: number;
  /** Depth of the K slice staged in workgroup memory (and the granularity of split-K chunks). */
  bk: number;
  /**
   * Stage slices of A and B in workgroup memory (GPUs), or read them straight from storage (CPU drivers,
   * where caches do that job and each workgroup barrier is a context switch). Default: staged.
   */
  direct?: boolean;
}

export interface GemmTiledOptions {
  transA: boolean;
  transB: boolean;
  tile?: TileConfig;
}

/** 16×16 invocations of 4×4 outputs: a 64×64 tile, the usual shape for discrete GPUs. */
export const TILE_16x16_4x4: TileConfig = { wx: 16, wy: 16, tm: 4, tn: 4, bk: 16 };
/** 8×8 invocations of 8×8 outputs: fewer, longer invocations, which suits CPU drivers such as SwiftShader. */
export const TILE_8x8_8x8: TileConfig = { wx: 8, wy: 8, tm: 8, tn: 8, bk: 16 };
/** The same read straight from storage: the best scalar kernel on SwiftShader (bench/RESULTS.md). */
export const TILE_8x8_8x8_DIRECT: TileConfig = { ...TILE_8x8_8x8, direct: true };

/**
 * Tiles for outputs with one or a few columns (matrix-vector products such as f = A·w of a scalar output
 * layer) and one or a few rows (∇w = δᵀA, bias gradients 1ᵀδ): a 64×64 tile would waste 63/64 of its work.
 */
export const TILE_COLUMN: TileConfig = { wx: 1, wy: 64, tm: 4, tn: 1, bk: 8 };
export const TILE_ROW: TileConfig = { wx: 64, wy: 1, tm: 1, tn: 4, bk: 8 };

export const tileRows = (t: TileConfig) => t.wy * t.tm;
export const tileCols = (t: TileConfig) => t.wx * t.tn;

/** K chunk per split, a multiple of the tile depth so every chunk but the last is whole slices. */
export function splitChunk(K: number, splits: number, bk: number): number {
  return Math.max(bk, ceilDiv(ceilDiv(K, Math.max(1, splits)), bk) * bk);
}

/** n lines of generated WGSL, one per index. */
export const unroll = (n: number, line: (i: number) => string) => Array.from({ length: n }, (_, i) => line(i)).join('\n');

export const opName = (transA: boolean, transB: boolean) => `${transA ? 'Aᵀ' : 'A'}·${transB ? 'Bᵀ' : 'B'}`;

export const gemmTiled = memoByKey(
  (o: GemmTiledOptions) => {
    const t = o.tile ?? TILE_16x16_4x4;
    return `gemm-tiled:${o.transA ? 't' : 'n'}${o.transB ? 't' : 'n'}:${t.wx}x${t.wy}:${t.tm}x${t.tn}:${t.bk}${t.direct ? ':direct' : ''}`;
  },
  (o, key): KernelDef<GemmShape> => {
    const t = o.tile ?? TILE_16x16_4x4;
    const { transA, transB } = o;
    const bm = tileRows(t);
    const bn = tileCols(t);
    const source = wgsl`
// alpha scales the product (C = α·op(A)·op(B)): the 1/sqrt(fan_in) of NTK layers costs no extra pass.
struct Params { M: u32, N: u32, K: u32, kChunk: u32, alpha: f32, pad0: u32, pad1: u32, pad2: u32 }

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

const WX = ${t.wx}u;
const WY = ${t.wy}u;
const TM = ${t.tm}u;
const TN = ${t.tn}u;
const BK = ${t.bk}u;
const BM = ${bm}u;
const BN = ${bn}u;
const THREADS = WX * WY;

#if ${!t.direct}
// Staged slices, k-major so the inner loop reads a row of each.
var<workgroup> tileA: array<f32, ${t.bk * bm}>;
var<workgroup> tileB: array<f32, ${t.bk * bn}>;
#endif

fn store(slice: u32, i: u32, j: u32, v: f32) {
  if (i < p.M && j < p.N) { c[slice + i * p.N + j] = p.alpha * v; }
}

@compute @workgroup_size(WX, WY, 1)
fn main(@builtin(workgroup_id) wid: vec3u,
        @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) tid: u32) {
  let row0 = wid.y * BM;
  let col0 = wid.x * BN;
  let kBegin = wid.z * p.kChunk;
  let kEnd = min(p.K, kBegin + p.kChunk);

  // The register block as named scalars: SwiftShader (and some GPU compilers) keep a dynamically indexed
  // array in memory, which made this kernel ten times slower on the CPU driver.
${unroll(t.tm * t.tn, (e) => `  var acc${e} = 0.0;`)}

#if ${!!t.direct}
  // Rows and columns past the edge are clamped onto the last one: the loop needs no branch, and the store
  // below drops those results.
${unroll(t.tm, (i) => `  let ra${i} = min(row0 + lid.y + ${i}u * WY, p.M - 1u);`)}
${unroll(t.tn, (j) => `  let cb${j} = min(col0 + lid.x + ${j}u * WX, p.N - 1u);`)}
  for (var k = kBegin; k < kEnd; k++) {
${unroll(t.tm, (i) => `    let a${i} = a[${transA ? `k * p.M + ra${i}` : `ra${i} * p.K + k`}];`)}
${unroll(t.tn, (j) => `    let b${j} = b[${transB ? `cb${j} * p.K + k` : `k * p.N + cb${j}`}];`)}
${unroll(t.tm * t.tn, (e) => `    acc${e} += a${Math.floor(e / t.tn)} * b${e % t.tn};`)}
  }
#else
  for (var k0 = kBegin; k0 < kEnd; k0 += BK) {
    // Stage A[row0.., k0..] and B[k0.., col0..], zero outside the matrix or the chunk. The linear index
    // walks the dimension that is contiguous in memory, so neighbouring invocations read neighbouring words.
    for (var l = tid; l < BM * BK; l += THREADS) {
#if ${transA}
      let r = l % BM;
      let kk = l / BM;
#else
      let kk = l % BK;
      let r = l / BK;
#endif
      let gi = row0 + r;
      let gk = k0 + kk;
      var v = 0.0;
      if (gi < p.M && gk < kEnd) {
#if ${transA}
        v = a[gk * p.M + gi];
#else
        v = a[gi * p.K + gk];
#endif
      }
      tileA[kk * BM + r] = v;
    }
    for (var l = tid; l < BN * BK; l += THREADS) {
#if ${transB}
      let kk = l % BK;
      let cc = l / BK;
#else
      let cc = l % BN;
      let kk = l / BN;
#endif
      let gj = col0 + cc;
      let gk = k0 + kk;
      var v = 0.0;
      if (gj < p.N && gk < kEnd) {
#if ${transB}
        v = b[gj * p.K + gk];
#else
        v = b[gk * p.N + gj];
#endif
      }
      tileB[kk * BN + cc] = v;
    }
    workgroupBarrier();

    for (var kk = 0u; kk < BK; kk++) {
${unroll(t.tm, (i) => `      let a${i} = tileA[kk * BM + lid.y + ${i}u * WY];`)}
${unroll(t.tn, (j) => `      let b${j} = tileB[kk * BN + lid.x + ${j}u * WX];`)}
${unroll(t.tm * t.tn, (e) => `      acc${e} += a${Math.floor(e / t.tn)} * b${e % t.tn};`)}
    }
    workgroupBarrier();
  }
#endif

  // Invocation (x, y) owns rows y, y+WY, ... and columns x, x+WX, ...: each row of a tile is written by
  // neighbouring invocations.
  let slice = wid.z * p.M * p.N;
${unroll(t.tm * t.tn, (e) => {
  const i = Math.floor(e / t.tn);
  const j = e % t.tn;
  return `  store(slice, row0 + lid.y + ${i}u * WY, col0 + lid.x + ${j}u * WX, acc${e});`;
})}
}
`;
    return {
      name: `gemm tiled ${opName(transA, transB)} ${bm}×${bn}×${t.bk}`,
      key,
      source,
      workgroupSize: [t.wx, t.wy, 1],
      bindings: ['read', 'read', 'write', 'uniform'],
      grid: (s) => [ceilDiv(s.N, bn), ceilDiv(s.M, bm), Math.max(1, s.splits ?? 1)],
      uniforms: (s) => Uint32Array.of(s.M, s.N, s.K, splitChunk(s.K, s.splits ?? 1, t.bk), f32Bits(s.alpha ?? 1), 0, 0, 0),
    };
  },
);
