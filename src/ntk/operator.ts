// A symmetric linear operator y = K x on dim-vectors, recorded into a step: an explicit matrix, the
// matrix-free NTK product J(Jᵀx), or a Hessian-vector product. Power iteration and Lanczos take any of them.
//
// An operator of a network is a function of its parameters. Where the products share work at a point (a
// forward pass whose activations they reuse), the operator is Linearizable: linearize(step) records that
// work into the step and returns the operator at the parameters as they are then, as a value, so that no
// product can run before the pass it needs (as jax's linearize returns a function of the tangent).
import { Matrix } from '../gpu/matrix.ts';
import { matmul } from '../kernels/ops.ts';
import type { Step } from '../gpu/step.ts';

export interface SymmetricOperator {
  readonly dim: number;
  /** Records y = K x (x, y dim×1, distinct buffers). */
  apply(step: Step, x: Matrix, y: Matrix): Promise<void>;
}

/** An operator that is a function of the network's parameters. */
export interface Linearizable {
  readonly dim: number;
  /** Records into `step` what its products share at the current parameters, and returns the operator there. */
  linearize(step: Step): Promise<SymmetricOperator>;
}

/** Anything power iteration and Lanczos act with. */
export type OperatorSource = Matrix | SymmetricOperator | Linearizable;

export function matrixOperator(K: Matrix): SymmetricOperator {
  if (K.rows !== K.cols) throw new RangeError(`a symmetric operator needs a square matrix, got ${K.rows}×${K.cols}`);
  return { dim: K.rows, apply: async (step, x, y) => void (await matmul(step, K, x, y)) };
}

/** The operator of `K` at the current parameters; a Linearizable one records its shared work into `step`. */
export async function operatorAt(step: Step, K: OperatorSource): Promise<SymmetricOperator> {
  if (K instanceof Matrix) return matrixOperator(K);
  return 'linearize' in K ? K.linearize(step) : K;
}
