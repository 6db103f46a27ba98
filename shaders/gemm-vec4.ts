// Register-tiled matrix product C = op(A)·op(B) reading float4s straight from storage, for shapes whose
// contiguous dimensions are multiples of 4 (the paper's widths and input sizes are). No workgroup memory:
// on CPU drivers such as SwiftShader each invocation is one SIMD lane, so a per-invocation scalar load is an
// emulated gather and a barrier a context switch; a float4 load costs one bounds check for four values.
// On GPUs it is a reasonable kernel too, but the staged one in gemm-tiled.ts reuses data across the
// workgroup. Split-K works as in gemm-tiled.ts: slice z of the output takes chunk z of K.
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { ceilDiv, f32Bits, memoByKey, type KernelDef } from '../src/gpu/kernel.ts';
import { opName, splitChunk, unroll, type GemmShape } from './gemm-tiled.ts';

export interface Vec4Tile {
  /** Invocations per workgroup along columns (x) and rows (y). */
  wx: number;
  wy: number;
  /** Outputs per invocation along rows and columns; multiples of 4. */
  tm: number;
  tn: number;
}

export const VEC4_TILE_8x8: Vec4Tile = { wx: 8, wy: 8, tm: 8, tn: 8 };
/** Half as tall (32×64): products with 32 rows or fewer, such as a batch of 32 through a wide layer. */
export const VEC4_TILE_4x8: Vec4Tile = { wx: 8, wy: 8, tm: 4, tn: 8 };

export interface GemmVec4Options {
  transA: boolean;
  transB: boolean;
  tile?: Vec4Tile;
}

/** Whether C = op(A)·op(B) of this shape can use the float4 kernel: every float4 load must be aligned. */
export function vec4Fits(s: GemmShape, transA: boolean, transB: boolean): boolean {
  // A rows (K long) or Aᵀ rows (M long), B rows (N long) or Bᵀ rows (K long) hold whole float4s, and the
  // loop walks K four at a time.
  return s.K % 4 === 0 && (!transA || s.M % 4 === 0) && (transB || s.N % 4 === 0);
}

/** Split-K chunks of whole float4 groups. */
export const vec4Chunk = (K: number, splits: number) => splitChunk(K, splits, 4);

export const gemmVec4 = memoByKey(
  (o: GemmVec4Options) => {
    const t = o.tile ?? VEC4_TILE_8x8;
    return `gemm-vec4:${o.transA ? 't' : 'n'}${o.transB ? 't' : 'n'}:${t.wx}x${t.wy}:${t.tm}x${t.tn}`;
  },
  (o, key): KernelDef<GemmShape> => {
    const t = o.tile ?? VEC4_TILE_8x8;
    if (t.tm % 4 || t.tn % 4) throw new RangeError(`gemm-vec4: tm and tn must be multiples of 4, got ${t.tm}×${t.tn}`);
    const { transA, transB } = o;
    const bm = t.wy * t.tm;
    const bn = t.wx * t.tn;
    const rows = t.tm;
    const quads = t.tn / 4;
    // WGSL for A(i, kk), the A value of block row i at k = 4g + kk, and for the float4 of B at (kk, quad q).
    const aValue = (i: number, kk: number) => (transA ? `a${kk}_${Math.floor(i / 4)}[${i % 4}]` : `a${i}[${kk}]`);
    const bQuad = (kk: number, q: number) =>
      transB ? `vec4(${unroll(4, (c) => `b${4 * q + c}[${kk}]`).split('\n').join(', ')})` : `b${kk}_${q}`;
    const source = wgsl`
// alpha scales the product (C = α·op(A)·op(B)): the 1/sqrt(fan_in) of NTK layers costs no extra pass.
struct Params { M: u32, N: u32, K: u32, kChunk: u32, alpha: f32, pad0: u32, pad1: u32, pad2: u32 }

@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

fn store(slice: u32, i: u32, j: u32, v: f32) {
  if (i < p.M && j < p.N) { c[slice + i * p.N + j] = p.alpha * v; }
}

@compute @workgroup_size(${t.wx}, ${t.wy}, 1)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row = wid.y * ${bm}u + lid.y * ${t.tm}u;
  let col = wid.x * ${bn}u + lid.x * ${t.tn}u;
  let g0 = wid.z * (p.kChunk / 4u);
  let g1 = min(p.K, wid.z * p.kChunk + p.kChunk) / 4u;

  // Indices past the edge are clamped onto the last row or column: loads need no branch, and store() drops
  // what they produce.
  // Row strides in float4s, hoisted: the CPU driver's JIT does not move loop-invariant arithmetic itself.
  let m4 = p.M / 4u;
  let n4 = p.N / 4u;
#if ${transA}
${unroll(rows / 4, (u) => `  let ra${u} = min(row / 4u + ${u}u, m4 - 1u);`)}
#else
${unroll(rows, (i) => `  let ra${i} = min(row + ${i}u, p.M - 1u) * (p.K / 4u);`)}
#endif
#if ${transB}
${unroll(t.tn, (j) => `  let cb${j} = min(col + ${j}u, p.N - 1u) * (p.K / 4u);`)}
#else
${unroll(quads, (q) => `  let cb${q} = min(col / 4u + ${q}u, n4 - 1u);`)}
#endif

${unroll(rows * quads, (e) => `  var acc${e} = vec4(0.0);`)}
  for (var g = g0; g < g1; g++) {
#if ${transA}
${unroll(4, (kk) => `    let ka${kk} = (4u * g + ${kk}u) * m4;`)}
${unroll(4 * (rows / 4), (e) => `    let a${e % 4}_${Math.floor(e / 4)} = a[ka${e % 4} + ra${Math.floor(e / 4)}];`)}
#else
${unroll(rows, (i) => `    let a${i} = a[ra${i} + g];`)}
#endif
#if ${transB}
${unroll(t.tn, (j) => `    let b${j} = b[cb${j} + g];`)}
#else
${unroll(4, (kk) => `    let kb${kk} = (4u * g + ${kk}u) * n4;`)}
${unroll(4 * quads, (e) => `    let b${e % 4}_${Math.floor(e / 4)} = b[kb${e % 4} + cb${Math.floor(e / 4)}];`)}
#endif
${unroll(4, (kk) => unroll(rows * quads, (e) => `    acc${e} += ${aValue(Math.floor(e / quads), kk)} * ${bQuad(kk, e % quads)};`))}
  }

  let slice = wid.z * p.M * p.N;
${unroll(rows * quads, (e) => {
  const i = Math.floor(e / quads);
  const q = e % quads;
  return unroll(4, (cc) => `  store(slice, row + ${i}u, col + ${4 * q + cc}u, acc${e}[${cc}]);`);
})}
}
`;
    return {
      name: `gemm vec4 ${opName(transA, transB)} ${bm}×${bn}`,
      key,
      source,
      workgroupSize: [t.wx, t.wy, 1],
      bindings: ['read', 'read', 'write', 'uniform'],
      grid: (s) => [ceilDiv(s.N, bn), ceilDiv(s.M, bm), Math.max(1, s.splits ?? 1)],
      uniforms: (s) => {
        if (!vec4Fits(s, transA, transB)) {
          throw new RangeError(`gemm vec4 ${opName(transA, transB)}: shape M=${s.M} N=${s.N} K=${s.K} is not float4-aligned; use the tiled variant`);
        }
        return Uint32Array.of(s.M, s.N, s.K, vec4Chunk(s.K, s.splits ?? 1), f32Bits(s.alpha ?? 1), 0, 0, 0);
      },
    };
  },
);
