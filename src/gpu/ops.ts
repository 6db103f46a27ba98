// Operations on matrices, each recorded into a step as one or more kernel dispatches. They pick the kernel
// variant for a shape, check shapes with messages that name them, and compile kernels on first use (later
// calls find them ready, so recording a step does not wait on the compiler).
import { actBackward, biasAct, type Activation } from '../../shaders/bias-act.ts';
import { gatherRows } from '../../shaders/gather.ts';
import { gemmReduce } from '../../shaders/gemm-reduce.ts';
import { TILE_16x16_4x4, gemmTiled, splitChunk, tileCols, tileRows, type GemmShape, type TileConfig } from '../../shaders/gemm-tiled.ts';
import { REDUCE_CHUNK, reduceChunks, sumSlices, type ReduceOp } from '../../shaders/reduce.ts';
import { ceilDiv, type KernelDef } from './kernel.ts';
import type { Matrix } from './matrix.ts';
import type { Step } from './step.ts';

export type GemmVariant = 'tiled' | 'reduce' | 'splitk';
export const GEMM_VARIANTS: readonly GemmVariant[] = ['tiled', 'reduce', 'splitk'];

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  /** Kernel variant; 'auto' picks by shape (see chooseGemmVariant). */
  variant?: GemmVariant | 'auto';
  /** Number of K chunks for 'splitk'; by default enough to give the GPU about 256 workgroups. */
  splits?: number;
  /** Tile of the tiled and split-K variants. */
  tile?: TileConfig;
}

async function record<S>(step: Step, def: KernelDef<S>, buffers: GPUBuffer[], shape: S): Promise<void> {
  await step.host.prepare([def]);
  step.dispatch(def, buffers, shape);
}

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

/** Work items the auto choice aims for: enough workgroups to fill a large GPU. */
const TARGET_WORKGROUPS = 256;

/**
 * Tiled for outputs with enough tiles to fill the device; for few output tiles and a long K, split-K when
 * the output is still tile-sized, the reduction kernel when it is small.
 */
export function chooseGemmVariant(s: GemmShape, tile: TileConfig = TILE_16x16_4x4): GemmVariant {
  const tiles = ceilDiv(s.M, tileRows(tile)) * ceilDiv(s.N, tileCols(tile));
  if (tiles >= TARGET_WORKGROUPS / 4 || s.K < 4 * Math.max(s.M, s.N)) return 'tiled';
  return s.M * s.N <= 64 * 64 ? 'reduce' : 'splitk';
}

export function defaultSplits(s: GemmShape, tile: TileConfig = TILE_16x16_4x4): number {
  const tiles = ceilDiv(s.M, tileRows(tile)) * ceilDiv(s.N, tileCols(tile));
  const maxSplits = Math.max(1, ceilDiv(s.K, tile.bk * 8)); // at least 8 K-slices of work per chunk
  return Math.max(1, Math.min(maxSplits, ceilDiv(TARGET_WORKGROUPS, tiles)));
}

/** C = op(A)·op(B) for row-major float32 matrices; op is identity or transpose. */
export async function matmul(step: Step, A: Matrix, B: Matrix, C: Matrix, options: MatmulOptions = {}): Promise<GemmVariant> {
  const transA = options.transA ?? false;
  const transB = options.transB ?? false;
  const tile = options.tile ?? TILE_16x16_4x4;
  const shape = gemmShape(A, B, C, transA, transB);
  const variant = !options.variant || options.variant === 'auto' ? chooseGemmVariant(shape, tile) : options.variant;
  if (!GEMM_VARIANTS.includes(variant)) {
    throw new RangeError(`matmul variant must be one of auto, ${GEMM_VARIANTS.join(', ')}; got "${variant}"`);
  }
  const buffers = [A.buffer, B.buffer, C.buffer];
  if (variant === 'reduce') {
    await record(step, gemmReduce({ transA, transB }), buffers, shape);
  } else if (variant === 'tiled' || shape.K === 0) {
    await record(step, gemmTiled({ transA, transB, tile }), buffers, shape);
  } else {
    const requested = options.splits ?? defaultSplits(shape, tile);
    if (!Number.isInteger(requested) || requested < 1) throw new RangeError(`matmul splits must be an integer >= 1, got ${requested}`);
    // Only as many chunks as K fills: the chunk is rounded up to whole tile slices.
    const splits = ceilDiv(shape.K, splitChunk(shape.K, requested, tile.bk));
    const slices = step.scratch(splits * shape.M * shape.N * 4);
    await record(step, gemmTiled({ transA, transB, tile }), [A.buffer, B.buffer, slices], { ...shape, splits });
    await record(step, sumSlices, [slices, C.buffer], { length: shape.M * shape.N, slices: splits });
  }
  return variant;
}

function sameShape(op: string, a: Matrix, b: Matrix, aName: string, bName: string): void {
  if (a.rows !== b.rows || a.cols !== b.cols) {
    throw new RangeError(`${op}: ${aName} is ${dims(a)} but ${bName} is ${dims(b)}; they must match`);
  }
}

/** Y = act(X + bias), bias (1×cols or cols×1) added to every row; no bias when `bias` is null. */
export async function biasActivation(step: Step, X: Matrix, bias: Matrix | null, Y: Matrix, act: Activation): Promise<void> {
  sameShape('bias+activation', X, Y, 'X', 'Y');
  if (bias && bias.length !== X.cols) {
    throw new RangeError(`bias+activation: bias has ${bias.length} values, X has ${X.cols} columns`);
  }
  const buffers = bias ? [X.buffer, bias.buffer, Y.buffer] : [X.buffer, Y.buffer];
  await record(step, biasAct({ act, bias: bias !== null }), buffers, { rows: X.rows, cols: X.cols });
}

/** dX = dY ⊙ act'(·), from the activation's output Y. */
export async function activationBackward(step: Step, dY: Matrix, Y: Matrix, dX: Matrix, act: Activation): Promise<void> {
  sameShape('activation backward', dY, Y, 'dY', 'Y');
  sameShape('activation backward', dY, dX, 'dY', 'dX');
  await record(step, actBackward(act), [dY.buffer, Y.buffer, dX.buffer], { rows: dY.rows, cols: dY.cols });
}

/** out[i, :] = src[index[i], :]; `index` holds out.rows u32 row numbers. */
export async function gather(step: Step, src: Matrix, index: GPUBuffer, out: Matrix): Promise<void> {
  if (out.cols !== src.cols) throw new RangeError(`gather: out has ${out.cols} columns, src ${src.cols}`);
  if (index.size < out.rows * 4) throw new RangeError(`gather: ${out.rows} rows asked, index buffer holds ${index.size / 4}`);
  await record(step, gatherRows, [src.buffer, index, out.buffer], { rows: out.rows, cols: out.cols, srcRows: src.rows });
}

export type Reduction = ReduceOp | 'norm';

/**
 * Writes one scalar to out[outOffset] (an f32 index): Σx, x·y, ‖x‖² or ‖x‖ over all elements of x.
 * It stays on the GPU: the caller reads it back in a batch with other scalars, or feeds it to later kernels.
 */
export async function reduce(step: Step, op: Reduction, x: Matrix, y: Matrix | null, out: GPUBuffer, outOffset = 0): Promise<void> {
  if ((op === 'dot') !== (y !== null)) throw new RangeError(`reduce ${op}: y must be given for dot and only for dot`);
  if (y) sameShape('dot', x, y, 'x', 'y');
  if (out.size < (outOffset + 1) * 4) throw new RangeError(`reduce: out[${outOffset}] is past the end of "${out.label}"`);
  let count = x.length;
  let src = x.buffer;
  let first = true;
  for (;;) {
    const parts = Math.max(1, ceilDiv(count, REDUCE_CHUNK));
    const last = parts === 1;
    const passOp: ReduceOp = first ? (op === 'norm' ? 'sumsq' : op) : 'sum';
    const def = reduceChunks({ op: passOp, sqrt: last && op === 'norm' });
    const dst = last ? out : step.scratch(parts * 4);
    const inputs = first && y ? [src, y.buffer] : [src];
    await record(step, def, [...inputs, dst], { count, outOffset: last ? outOffset : 0 });
    if (last) return;
    src = dst;
    count = parts;
    first = false;
  }
}
