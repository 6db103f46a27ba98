// A symmetric linear operator y = K x on dim-vectors, recorded into a step: an explicit matrix, the
// matrix-free NTK product J(Jᵀx), or a Hessian-vector product. Power iteration and Lanczos take any of them.
import { Matrix } from '../gpu/matrix.ts';
import { matmul } from '../kernels/ops.ts';
import type { Step } from '../gpu/step.ts';

export interface SymmetricOperator {
  readonly dim: number;
  /**
   * Records what every product in this step shares (a forward pass whose activations the products reuse).
   * Callers run it once in each step before the step's first apply, and nothing else that touches the
   * network in between.
   */
  prepare(step: Step): Promise<void>;
  /** Records y = K x (x, y dim×1, distinct buffers). */
  apply(step: Step, x: Matrix, y: Matrix): Promise<void>;
}

export function matrixOperator(K: Matrix): SymmetricOperator {
  if (K.rows !== K.cols) throw new RangeError(`a symmetric operator needs a square matrix, got ${K.rows}×${K.cols}`);
  return { dim: K.rows, prepare: async () => {}, apply: async (step, x, y) => void (await matmul(step, K, x, y)) };
}

export function asOperator(K: Matrix | SymmetricOperator): SymmetricOperator {
  return K instanceof Matrix ? matrixOperator(K) : K;
}
