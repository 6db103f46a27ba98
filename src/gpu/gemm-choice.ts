// Which matrix-product kernel `auto` runs, per adapter class and shape. The classes reward opposite kernel
// shapes: a GPU wants workgroup-memory tiles and many workgroups, a CPU driver (one SIMD lane per invocation,
// a barrier a context switch, every load a gather) wants big register blocks read straight from storage and
// few workgroups. The CPU rules come from interleaved measurements on lavapipe and on SwiftShader, which chose
// the same winner for every shape class below (bench/RESULTS.md, "Which kernel auto picks"; `npm run bench`
// prints the same comparison on any adapter). The GPU rules are the usual shapes for discrete GPUs and have
// not been measured here: bench:device measures every variant on a GPU.
import { TILE_16x16_4x4, TILE_8x8_8x8_DIRECT, TILE_COLUMN, TILE_ROW, type GemmShape, type TileConfig } from '../../shaders/gemm-tiled.ts';
import { gemvFits, type GemvForm } from '../../shaders/gemv.ts';
import { VEC4_TILE_4x8, VEC4_TILE_8x8, vec4Fits, type Vec4Tile } from '../../shaders/gemm-vec4.ts';
import type { AdapterClass } from './gpu.ts';
import { ceilDiv } from './kernel.ts';

export type GemmVariant = 'tiled' | 'vec4' | 'reduce' | 'splitk' | 'gemv' | 'subgroup';
export const GEMM_VARIANTS: readonly GemmVariant[] = ['tiled', 'vec4', 'reduce', 'splitk', 'gemv', 'subgroup'];

/** A variant with the tile it runs with. */
export interface GemmPlan {
  variant: GemmVariant;
  /** For 'tiled' and 'splitk' (its chunks, where they are not float4-aligned). */
  tile: TileConfig;
  /** For 'vec4' and 'splitk' (its chunks, where they are float4-aligned). */
  vec4Tile: Vec4Tile;
}

/** Outputs at most this thin get a tile of their shape (matrix-vector products). */
export const THIN = 4;

/**
 * The form of the matrix-vector kernel for C = op(A)·op(B) when C is one column or one row wide: which
 * operand is the matrix, and whether its contiguous dimension is the reduction (dot) or the outputs (axpy).
 */
export function gemvPlan(s: GemmShape, transA: boolean, transB: boolean): { form: GemvForm; matrix: 'A' | 'B'; L: number } | null {
  if (s.N === 1) return { form: transA ? 'axpy' : 'dot', matrix: 'A', L: s.M };
  if (s.M === 1) return { form: transB ? 'dot' : 'axpy', matrix: 'B', L: s.N };
  return null;
}

const plan = (variant: GemmVariant, tile: TileConfig, vec4Tile: Vec4Tile = VEC4_TILE_8x8): GemmPlan => ({ variant, tile, vec4Tile });

/** GPUs: 64×64 staged tiles, thin staged tiles for matrix-vector shapes, split-K until ~256 workgroups. */
function gpuPlan(s: GemmShape): GemmPlan {
  const target = 256;
  if (s.M <= THIN || s.N <= THIN) {
    const tile = s.N <= THIN ? TILE_COLUMN : TILE_ROW;
    return plan(s.K >= 1024 && s.M * s.N < target * 64 ? 'splitk' : 'tiled', tile);
  }
  const tiles = ceilDiv(s.M, 64) * ceilDiv(s.N, 64);
  if (tiles < target / 4 && s.K >= 8 * Math.max(s.M, s.N) && s.K >= 1024) return plan('splitk', TILE_16x16_4x4);
  return plan('tiled', TILE_16x16_4x4);
}

/**
 * CPU drivers. Measured winners (GFLOP/s on lavapipe and SwiftShader, 2 cores): A·Bᵀ shapes, the float4 kernel
 * with 8×8 blocks (512³: 3.7 against 2.9 direct on lavapipe); A·B and Aᵀ·B, the direct 8×8 kernel (512³: 4.4
 * against 3.7 vec4 on lavapipe, 1.7 against 1.1 on SwiftShader); 32 rows or fewer, the float4 kernel with 4×8
 * blocks, half as tall a tile (32×1024×3072: 2.5 against 1.6); one-wide outputs, the matrix-vector kernel
 * (2000×2000 by a vector: 1.8 against 0.6). Split-K only where the output has too few tiles for the cores.
 */
function cpuPlan(s: GemmShape, transA: boolean, transB: boolean): GemmPlan {
  const direct = TILE_8x8_8x8_DIRECT;
  const gemv = gemvPlan(s, transA, transB);
  if (gemv && gemvFits(gemv.form, { L: gemv.L, K: s.K }) && ceilDiv(gemv.L, 16) <= 65535) return plan('gemv', direct);
  if (s.M <= THIN || s.N <= THIN) {
    const tile = { ...(s.N <= THIN ? TILE_COLUMN : TILE_ROW), direct: true };
    return plan(s.K >= 1024 && s.M * s.N < 16 * 64 ? 'splitk' : 'tiled', tile);
  }
  const aligned = vec4Fits(s, transA, transB);
  const tiles = ceilDiv(s.M, 64) * ceilDiv(s.N, 64);
  if (tiles < 4 && s.K >= 1024 && s.K >= 8 * Math.max(s.M, s.N)) return plan('splitk', direct, s.M <= 32 ? VEC4_TILE_4x8 : VEC4_TILE_8x8);
  if (aligned && s.M <= 32) return plan('vec4', direct, VEC4_TILE_4x8);
  if (aligned && transB) return plan('vec4', direct, VEC4_TILE_8x8);
  return plan('tiled', direct);
}

const RULES: Record<AdapterClass, (s: GemmShape, transA: boolean, transB: boolean) => GemmPlan> = {
  gpu: gpuPlan,
  lavapipe: cpuPlan,
  swiftshader: cpuPlan,
  software: cpuPlan,
};

/** The kernel `auto` runs for C = op(A)·op(B) of shape s on an adapter of class `kind`. */
export function chooseGemm(s: GemmShape, transA: boolean, transB: boolean, kind: AdapterClass): GemmPlan {
  return RULES[kind](s, transA, transB);
}

/** Default tile of a variant named explicitly, on an adapter of class `kind`. */
export function defaultTile(kind: AdapterClass): TileConfig {
  return kind === 'gpu' ? TILE_16x16_4x4 : TILE_8x8_8x8_DIRECT;
}
