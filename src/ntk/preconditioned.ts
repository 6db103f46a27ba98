// The critical rate of an adaptive optimizer on each step's batch. Its update is θ −= η·P⊙g with P the
// diagonal preconditioner of that step (AdaGrad's 1/(sqrt(G)+ε), RMSprop's, Adam's denominator with its bias
// correction; momentum ignored), so a batch's outputs move by (I − 2η·J·P·Jᵀ/b) and the step is critical
// when η > η_crit^P(batch) = b/λ_max(J·P·Jᵀ). P is recorded from the optimizer's state and the step's
// gradient before the update (Optimizer.recordPreconditioner); J·P·Jᵀ is applied matrix-free (P scales Jᵀv
// between the two passes), so any network has it. Small batches form J·P·Jᵀ column by column (J·P·Jᵀ e_j) and
// solve it exactly on the host like the batch NTK (src/ntk/exact-batch.ts); larger ones take warm-started
// power iterations with their residual.
import type { Gpu } from '../gpu/gpu.ts';
import { Matrix } from '../gpu/matrix.ts';
import type { Step } from '../gpu/step.ts';
import type { Network } from '../nn/network.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import { ExactBatchEigen } from './exact-batch.ts';
import { MatrixFreeNtk } from './matrix-free.ts';
import { PowerIteration } from './spectrum.ts';

/**
 * Kernels up to this dimension are formed and solved exactly by default: forming costs one matrix-free
 * product per column, about what three cold power-iteration runs cost at this size.
 */
export const EXACT_PRECONDITIONED_MAX = 64;

export interface PreconditionedConfig {
  every?: number;
  iterations?: number;
  /** exact: formed by columns and solved on the host; power: power iterations on the GPU; auto (default): exact up to 64 rows. */
  solver?: 'auto' | 'exact' | 'power';
}

interface PerBatchSize {
  op: MatrixFreeNtk;
  power: PowerIteration;
  exact: { eigen: ExactBatchEigen; K: Matrix; basis: Matrix; e: Matrix; column: Matrix } | null;
}

export class PreconditionedBatch {
  /** P over the flat parameters (0 outside the trainable tensors). */
  readonly P: GPUBuffer;
  private readonly bySize = new Map<number, PerBatchSize>();

  constructor(
    private readonly gpu: Gpu,
    private readonly net: Network,
    private readonly optimizer: Optimizer,
    readonly config: PreconditionedConfig,
    private readonly metricRows: number,
  ) {
    if (!optimizer.preconditioned) throw new RangeError(`tracking.preconditioned needs an adaptive optimizer (adagrad, rmsprop, adam, adadelta): ${optimizer.hyper.name}'s critical rate is the batch NTK's, tracked by tracking.batch`);
    this.P = gpu.createBuffer({ label: 'preconditioner', size: net.layout.size * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, shrink: 'use a smaller model' });
  }

  private entry(X: Matrix): PerBatchSize {
    const b = X.rows;
    let e = this.bySize.get(b);
    if (e) return e;
    const dim = b * this.net.outputs;
    const choice = this.config.solver ?? 'auto';
    const exact = choice === 'exact' || (choice === 'auto' && dim <= EXACT_PRECONDITIONED_MAX);
    const identity = new Float32Array(dim * dim);
    for (let i = 0; i < dim; i++) identity[i * dim + i] = 1;
    e = {
      op: new MatrixFreeNtk(this.gpu, this.net, X, { chunk: Math.ceil(b / 64) * 64, preconditioner: this.P }),
      power: new PowerIteration(this.gpu, dim, 5),
      exact: exact
        ? {
            eigen: new ExactBatchEigen(this.gpu, this.metricRows, dim),
            K: this.gpu.matrix(`J·P·Jᵀ (${b})`, dim, dim, undefined, 'use a smaller batch, or tracking.preconditioned.solver "power"'),
            basis: this.gpu.matrix('unit vectors', dim, dim, identity),
            e: this.gpu.matrix('unit vector', dim, 1),
            column: this.gpu.matrix('J·P·Jᵀ column', dim, 1),
          }
        : null,
    };
    this.bySize.set(b, e);
    return e;
  }

  /**
   * Records step t's P and λ_max(J·P·Jᵀ) of the batch X (whose gradients the training step has just
   * computed, before the update): by `power`, the tracker's power iterations into the step's metrics row
   * (with its cold-start rule), or staged in metrics row `row` for the exact solve.
   */
  async record(step: Step, X: Matrix, t: number, row: number, power: (p: PowerIteration, op: MatrixFreeNtk) => Promise<void>): Promise<void> {
    await this.optimizer.recordPreconditioner(step, this.P);
    const e = this.entry(X);
    if (!e.exact) {
      await power(e.power, e.op);
      return;
    }
    const { K, basis, e: unit, column, eigen } = e.exact;
    const dim = K.rows;
    const op = await e.op.linearize(step);
    for (let j = 0; j < dim; j++) {
      step.copy(basis.buffer, unit.buffer, dim * 4, j * dim * 4, 0);
      await op.apply(step, unit, column);
      step.copy(column.buffer, K.buffer, dim * 4, 0, j * dim * 4);
    }
    eigen.stage(step, K, row, t);
  }

  /** Reads back and solves what the exact path staged since the last readback. */
  async collect(): Promise<void> {
    for (const e of this.bySize.values()) await e.exact?.eigen.collect();
  }

  /** Step t's exact result, once collected (undefined: not staged, or solved by power iteration). */
  take(t: number, b: number) {
    return this.bySize.get(b)?.exact?.eigen.take(t);
  }

  destroy(): void {
    this.P.destroy();
    for (const e of this.bySize.values()) {
      e.op.destroy();
      e.power.destroy();
      if (e.exact) {
        e.exact.eigen.destroy();
        for (const m of [e.exact.K, e.exact.basis, e.exact.e, e.exact.column]) m.buffer.destroy();
      }
    }
  }
}
