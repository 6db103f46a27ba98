// Operations on matrices, each recorded into a step as one or more kernel dispatches. They pick the kernel
// variant for a shape, check shapes with messages that name them, and compile kernels on first use (later
// calls find them ready, so recording a step does not wait on the compiler).
import { actBackward, biasAct, type Activation } from '../../shaders/bias-act.ts';
import { gatherBlock, gatherRows } from '../../shaders/gather.ts';
import { lincomb } from '../../shaders/lincomb.ts';
import { gemmReduce } from '../../shaders/gemm-reduce.ts';
import { gemmSubgroup } from '../../shaders/gemm-subgroup.ts';
import { VEC4_TILE_8x8, gemmVec4, vec4Chunk, vec4Fits, type Vec4Tile } from '../../shaders/gemm-vec4.ts';
import { gemv, gemvFits } from '../../shaders/gemv.ts';
import { gemmTiled, splitChunk, type GemmShape, type TileConfig } from '../../shaders/gemm-tiled.ts';
import { GEMM_VARIANTS, THIN, chooseGemm, defaultTile, gemvPlan, type GemmVariant } from './gemm-choice.ts';
import { MIN_IDENTITY, REDUCE_CHUNK, reduceChunks, sumSlices, type ReduceOp } from '../../shaders/reduce.ts';
import { ceilDiv, type KernelDef } from '../gpu/kernel.ts';
import type { Matrix } from '../gpu/matrix.ts';
import type { Bindable, Step } from '../gpu/step.ts';

export { MIN_IDENTITY };

export { GEMM_VARIANTS, type GemmVariant } from './gemm-choice.ts';

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  /**
   * 'tiled': register-tiled, any shape; 'vec4': float4 loads, when K (and M for Aᵀ, N for B) are multiples
   * of 4; 'reduce': invocations split K, for small outputs; 'splitk': K in chunks by the vec4 kernel where
   * it fits (tiled elsewhere), then a fixed-order sum pass; 'gemv': the matrix-vector kernel, for outputs one
   * column or one row wide; 'subgroup': A shared by subgroup shuffles, where the adapter has subgroups.
   * 'auto' (default) picks by shape and adapter class (src/kernels/gemm-choice.ts).
   */
  variant?: GemmVariant | 'auto';
  /** Number of K chunks for 'splitk'; by default enough for about 256 workgroups. */
  splits?: number;
  /** Tile of the tiled kernel (and of split-K where it uses it); by default the adapter class's. */
  tile?: TileConfig;
  /** Tile of the vec4 kernel; by default 8×8 blocks. */
  vec4Tile?: Vec4Tile;
  /** C = alpha·op(A)·op(B); 1 by default. */
  alpha?: number;
}

/** Records one dispatch of `def`, compiling it first if this device has not yet (later calls find it ready). */
export async function dispatch<S>(step: Step, def: KernelDef<S>, buffers: Bindable[], shape: S): Promise<void> {
  await step.host.prepare([def]);
  step.dispatch(def, buffers, shape);
}

const record = dispatch;

const dims = (m: Matrix) => `${m.rows}×${m.cols}`;

/** Checks that C = op(A)·op(B) is well formed and returns its shape. */
export function gemmShape(A: Matrix, B: Matrix, C: Matrix, transA = false, transB = false): GemmShape {
  const M = transA ? A.cols : A.rows;
  const K = transA ? A.rows : A.cols;
  const KB = transB ? B.cols : B.rows;
  const N = transB ? B.rows : B.cols;
  const what = `${transA ? 'Aᵀ' : 'A'}·${transB ? 'Bᵀ' : 'B'} with A ${dims(A)}, B ${dims(B)}, C ${dims(C)}`;
  if (K !== KB) throw new RangeError(`matmul ${what}: inner dimensions differ (${K} vs ${KB})`);
  if (C.rows !== M || C.cols !== N) throw new RangeError(`matmul ${what}: C must be ${M}×${N}`);
  return { M, N, K };
}

/** Workgroups split-K aims for: enough to fill a large GPU. */
const TARGET_WORKGROUPS = 256;

export function defaultSplits(s: GemmShape): number {
  const thin = s.M <= THIN || s.N <= THIN;
  const tiles = thin ? ceilDiv(Math.max(s.M, s.N), 256) : ceilDiv(s.M, 64) * ceilDiv(s.N, 64);
  const maxSplits = Math.max(1, ceilDiv(s.K, 128)); // at least 128 of K per chunk
  return Math.max(1, Math.min(maxSplits, ceilDiv(TARGET_WORKGROUPS, tiles)));
}

/** C = op(A)·op(B) for row-major float32 matrices; op is identity or transpose. Returns the variant used. */
export async function matmul(step: Step, A: Matrix, B: Matrix, C: Matrix, options: MatmulOptions = {}): Promise<GemmVariant> {
  const transA = options.transA ?? false;
  const transB = options.transB ?? false;
  const kind = step.host.adapter.kind;
  const shape = { ...gemmShape(A, B, C, transA, transB), alpha: options.alpha ?? 1 };
  const auto = !options.variant || options.variant === 'auto';
  const planned = chooseGemm(shape, transA, transB, kind, step.host.subgroups);
  const variant = (auto ? planned.variant : options.variant) as GemmVariant;
  if (!GEMM_VARIANTS.includes(variant as GemmVariant)) {
    throw new RangeError(`matmul variant must be one of auto, ${GEMM_VARIANTS.join(', ')}; got "${variant}"`);
  }
  const tile = options.tile ?? (auto ? planned.tile : defaultTile(kind));
  const vec4Tile = options.vec4Tile ?? (auto ? planned.vec4Tile : VEC4_TILE_8x8);
  const thin = shape.M <= THIN || shape.N <= THIN;
  const aligned = vec4Fits(shape, transA, transB);
  if (variant === 'vec4' && !aligned) {
    throw new RangeError(`matmul variant vec4 needs K${transA ? ', M' : ''}${transB ? '' : ', N'} to be multiples of 4; got M=${shape.M} N=${shape.N} K=${shape.K}`);
  }
  const buffers = [A, B, C];
  if (variant === 'gemv') {
    const g = gemvPlan(shape, transA, transB);
    if (!g) throw new RangeError(`matmul variant gemv needs C to be one column or one row wide; got M=${shape.M} N=${shape.N}`);
    if (!gemvFits(g.form, { L: g.L, K: shape.K })) {
      throw new RangeError(`matmul variant gemv (${g.form} form) needs ${g.form === 'dot' ? `K = ${shape.K}` : `the output length ${g.L}`} to be a multiple of 4`);
    }
    await record(step, gemv(g.form), g.matrix === 'A' ? [A, B, C] : [B, A, C], { L: g.L, K: shape.K, alpha: shape.alpha });
  } else if (variant === 'subgroup') {
    if (!step.host.subgroups) throw new RangeError('matmul variant subgroup needs an adapter with the "subgroups" feature; this one has none');
    await record(step, gemmSubgroup({ transA, transB }), buffers, shape);
  } else if (variant === 'reduce') {
    await record(step, gemmReduce({ transA, transB }), buffers, shape);
  } else if (variant === 'vec4') {
    await record(step, gemmVec4({ transA, transB, tile: vec4Tile }), buffers, shape);
  } else if (variant === 'tiled' || shape.K === 0) {
    await record(step, gemmTiled({ transA, transB, tile }), buffers, shape);
  } else {
    const requested = options.splits ?? defaultSplits(shape);
    if (!Number.isInteger(requested) || requested < 1) throw new RangeError(`matmul splits must be an integer >= 1, got ${requested}`);
    // Only as many chunks as K fills: chunks are whole float4 groups or tile slices.
    const useVec4 = aligned && !thin && !options.tile;
    const chunk = useVec4 ? vec4Chunk(shape.K, requested) : splitChunk(shape.K, requested, tile.bk);
    const splits = ceilDiv(shape.K, chunk);
    const slices = step.scratch(splits * shape.M * shape.N * 4);
    const partial = useVec4 ? gemmVec4({ transA, transB, tile: vec4Tile }) : gemmTiled({ transA, transB, tile });
    await record(step, partial, [A, B, slices], { ...shape, splits });
    await record(step, sumSlices, [slices, C], { length: shape.M * shape.N, slices: splits });
  }
  return variant;
}

function sameShape(op: string, a: Matrix, b: Matrix, aName: string, bName: string): void {
  if (a.rows !== b.rows || a.cols !== b.cols) {
    throw new RangeError(`${op}: ${aName} is ${dims(a)} but ${bName} is ${dims(b)}; they must match`);
  }
}

/**
 * Y = act(scale·X + biasScale·bias), bias (1×cols or cols×1) added to every row; no bias when `bias` is null.
 * With `spatial` > 1 each bias entry covers that many consecutive columns (a convolution's channel in NCHW).
 */
export async function biasActivation(
  step: Step,
  X: Matrix,
  bias: Matrix | null,
  Y: Matrix,
  act: Activation,
  scales: { scale?: number; biasScale?: number; spatial?: number } = {},
): Promise<void> {
  sameShape('bias+activation', X, Y, 'X', 'Y');
  const spatial = scales.spatial ?? 1;
  if (bias && bias.length * spatial !== X.cols) {
    throw new RangeError(`bias+activation: bias has ${bias.length} values${spatial > 1 ? ` of ${spatial} positions each` : ''}, X has ${X.cols} columns`);
  }
  const buffers = bias ? [X, bias, Y] : [X, Y];
  await record(step, biasAct({ act, bias: bias !== null }), buffers, { rows: X.rows, cols: X.cols, scale: scales.scale, biasScale: scales.biasScale, spatial });
}

/** dX = dY ⊙ act'(·), from the activation's output Y. */
export async function activationBackward(step: Step, dY: Matrix, Y: Matrix, dX: Matrix, act: Activation): Promise<void> {
  sameShape('activation backward', dY, Y, 'dY', 'Y');
  sameShape('activation backward', dY, dX, 'dY', 'dX');
  await record(step, actBackward(act), [dY, Y, dX], { rows: dY.rows, cols: dY.cols });
}

/** out[i, :] = src[index[i], :]; `index` holds out.rows u32 row numbers. */
export async function gather(step: Step, src: Matrix, index: GPUBuffer, out: Matrix): Promise<void> {
  if (out.cols !== src.cols) throw new RangeError(`gather: out has ${out.cols} columns, src ${src.cols}`);
  if (index.size < out.rows * 4) throw new RangeError(`gather: ${out.rows} rows asked, index buffer holds ${index.size / 4}`);
  await record(step, gatherRows, [src, index, out], { rows: out.rows, cols: out.cols, srcRows: src.rows });
}

/** out[i, j] = src[index[i], index[j]] for a square src; `index` holds out.rows u32 row numbers. */
export async function gatherSquare(step: Step, src: Matrix, index: GPUBuffer, out: Matrix): Promise<void> {
  if (src.rows !== src.cols) throw new RangeError(`gather block: src must be square, got ${dims(src)}`);
  if (out.rows !== out.cols) throw new RangeError(`gather block: out must be square, got ${dims(out)}`);
  if (index.size < out.rows * 4) throw new RangeError(`gather block: ${out.rows} rows asked, index buffer holds ${index.size / 4}`);
  await record(step, gatherBlock, [src, index, out], { rows: out.rows, srcRows: src.rows });
}

export type Reduction = ReduceOp | 'norm';

/**
 * Writes one scalar to out[outOffset] (an f32 index): Σx, x·y, ‖x‖², ‖x‖ or min x over all elements of x.
 * For min, `above` leaves out the elements at or below it; with none left the result is the largest finite
 * f32 (MIN_IDENTITY). It stays on the GPU: the caller reads it back in a batch with other scalars, or feeds
 * it to later kernels.
 */
export async function reduce(step: Step, op: Reduction, x: Matrix, y: Matrix | null, out: GPUBuffer, outOffset = 0, options: { above?: number } = {}): Promise<void> {
  if ((op === 'dot') !== (y !== null)) throw new RangeError(`reduce ${op}: y must be given for dot and only for dot`);
  if (options.above !== undefined && op !== 'min') throw new RangeError(`reduce ${op}: "above" is only for min`);
  if (y) sameShape('dot', x, y, 'x', 'y');
  if (out.size < (outOffset + 1) * 4) throw new RangeError(`reduce: out[${outOffset}] is past the end of "${out.label}"`);
  let count = x.length;
  let src: Bindable = x;
  let first = true;
  for (;;) {
    const parts = Math.max(1, ceilDiv(count, REDUCE_CHUNK));
    const last = parts === 1;
    const passOp: ReduceOp = op === 'min' ? 'min' : first ? (op === 'norm' ? 'sumsq' : op) : 'sum';
    // Only the first pass filters: later passes take the min of partials that are above it or the identity.
    const above = first && options.above !== undefined;
    const def = reduceChunks({ op: passOp, sqrt: last && op === 'norm', above });
    const dst = last ? out : step.scratch(parts * 4);
    const inputs: Bindable[] = first && y ? [src, y] : [src];
    await record(step, def, [...inputs, dst], { count, outOffset: last ? outOffset : 0, threshold: above ? options.above : 0 });
    if (last) return;
    src = dst;
    count = parts;
    first = false;
  }
}

/** Z = a·X + b·Y, elementwise (X, Y, Z of one shape; Z may not alias X or Y). */
export async function linearCombination(step: Step, a: number, X: Matrix, b: number, Y: Matrix, Z: Matrix): Promise<void> {
  sameShape('linear combination', X, Y, 'X', 'Y');
  sameShape('linear combination', X, Z, 'X', 'Z');
  await record(step, lincomb, [X, Y, Z], { count: X.length, a, b });
}
