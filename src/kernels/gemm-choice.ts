// Which matrix-product kernel `auto` runs, per adapter class and shape. The classes reward opposite kernel
// shapes: a GPU wants workgroup-memory tiles and many workgroups, a CPU driver (one SIMD lane per invocation,
// a barrier a context switch, every load a gather) wants big register blocks read straight from storage and
// few workgroups; and the two CPU drivers differ (lavapipe shuffles subgroups cheaply, SwiftShader does not).
// The CPU rules come from interleaved measurements on each (bench/RESULTS.md, "Which kernel auto picks";
// `npm run bench` prints the same comparison on any adapter). The GPU rules are the usual shapes for discrete
// GPUs and have not been measured here: bench:device measures every variant on a GPU.
import { TILE_16x16_4x4, TILE_8x8_8x8_DIRECT, TILE_COLUMN, TILE_ROW, type GemmShape, type TileConfig } from '../../shaders/gemm-tiled.ts';
import { gemvFits, type GemvForm } from '../../shaders/gemv.ts';
import { VEC4_TILE_4x8, VEC4_TILE_8x8, vec4Fits, type Vec4Tile } from '../../shaders/gemm-vec4.ts';
import type { AdapterClass } from '../gpu/adapter.ts';
import { ceilDiv } from '../gpu/kernel.ts';

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

/** What both CPU drivers want for vectors and thin outputs, or null for a full-size product. */
function cpuThin(s: GemmShape, transA: boolean, transB: boolean): GemmPlan | null {
  const gemv = gemvPlan(s, transA, transB);
  // One-wide outputs: the matrix-vector kernel, which a tiled product's idle lanes make many times faster.
  if (gemv && gemvFits(gemv.form, { L: gemv.L, K: s.K }) && ceilDiv(gemv.L, 16) <= 65535) return plan('gemv', TILE_8x8_8x8_DIRECT);
  if (s.M <= THIN || s.N <= THIN) {
    const tile = { ...(s.N <= THIN ? TILE_COLUMN : TILE_ROW), direct: true };
    return plan(s.K >= 1024 && s.M * s.N < 16 * 64 ? 'splitk' : 'tiled', tile);
  }
  // Split-K only where the output has too few tiles for the cores.
  const tiles = ceilDiv(s.M, 64) * ceilDiv(s.N, 64);
  if (tiles < 4 && s.K >= 1024 && s.K >= 8 * Math.max(s.M, s.N)) return plan('splitk', TILE_8x8_8x8_DIRECT);
  return null;
}

/**
 * lavapipe: outputs 256 columns wide or more with A untransposed go to the subgroup kernel, whose shuffles
 * share each load of A among 8 lanes; narrower outputs would leave most of its 256-column tile idle. Otherwise
 * float4 8×8 blocks for A·Bᵀ and Aᵀ·B, direct 8×8 tiles for A·B, float4 4×8 blocks for 32 rows or fewer.
 * The measurements behind each rule: bench/gemm.ts, bench/RESULTS.md ("Matrix products", "Which kernel auto picks").
 */
function lavapipePlan(s: GemmShape, transA: boolean, transB: boolean, subgroups: boolean): GemmPlan {
  const thin = cpuThin(s, transA, transB);
  if (thin) return thin;
  if (subgroups && !transA && s.N >= 256) return plan('subgroup', TILE_8x8_8x8_DIRECT);
  const aligned = vec4Fits(s, transA, transB);
  if (aligned && s.M <= 32) return plan('vec4', TILE_8x8_8x8_DIRECT, VEC4_TILE_4x8);
  if (aligned && (transA || transB)) return plan('vec4', TILE_8x8_8x8_DIRECT, VEC4_TILE_8x8);
  return plan('tiled', TILE_8x8_8x8_DIRECT);
}

/**
 * SwiftShader: its subgroups of 4 make shuffles a loss everywhere; the direct 8×8 tiles match the float4
 * kernel or beat it on every shape but 32 rows or fewer, where float4 4×8 blocks win (bench/RESULTS.md, "Matrix products").
 */
function swiftshaderPlan(s: GemmShape, transA: boolean, transB: boolean): GemmPlan {
  const thin = cpuThin(s, transA, transB);
  if (thin) return thin;
  if (vec4Fits(s, transA, transB) && s.M <= 32) return plan('vec4', TILE_8x8_8x8_DIRECT, VEC4_TILE_4x8);
  return plan('tiled', TILE_8x8_8x8_DIRECT);
}

/** Another CPU driver: SwiftShader's rules, which ask nothing of it (no subgroups). */
const RULES: Record<AdapterClass, (s: GemmShape, transA: boolean, transB: boolean, subgroups: boolean) => GemmPlan> = {
  gpu: gpuPlan,
  lavapipe: lavapipePlan,
  swiftshader: swiftshaderPlan,
  software: swiftshaderPlan,
};

/** The kernel `auto` runs for C = op(A)·op(B) of shape s on an adapter of class `kind` (with or without subgroups). */
export function chooseGemm(s: GemmShape, transA: boolean, transB: boolean, kind: AdapterClass, subgroups = false): GemmPlan {
  return RULES[kind](s, transA, transB, subgroups);
}

/** Default tile of a variant named explicitly, on an adapter of class `kind`. */
export function defaultTile(kind: AdapterClass): TileConfig {
  return kind === 'gpu' ? TILE_16x16_4x4 : TILE_8x8_8x8_DIRECT;
}
