// One batch's loss and gradients at the current parameters: one forward and backward pass, or, for a batch
// wider than one pass takes, micro-batches whose gradients are summed (the same step, less memory).
import { addInPlace } from '../../shaders/lincomb.ts';
import { Matrix } from '../gpu/matrix.ts';
import { reduce } from '../kernels/ops.ts';
import type { Step } from '../gpu/step.ts';
import type { LossHeads } from '../nn/loss.ts';
import type { Network, Tape } from '../nn/network.ts';
import type { RowCopies } from '../gpu/row-copies.ts';
import type { LossName } from './train-config.ts';

export class BatchGradients {
  constructor(
    private readonly net: Network,
    private readonly losses: LossHeads,
    private readonly loss: LossName,
    /** Examples per pass. */
    private readonly passRows: number,
    private readonly rows: RowCopies,
  ) {}

  /**
   * The loss of (X, Y) summed into out[lossSlot] (and, for cross-entropy, the number correct into
   * out[correctSlot]), its gradients into the network's. Returns the forward pass (the last micro-batch's).
   */
  async record(step: Step, X: Matrix, Y: Matrix, out: GPUBuffer, lossSlot: number, correctSlot: number): Promise<Tape> {
    if (X.rows <= this.passRows) return this.pass(step, X, Y, out, lossSlot, correctSlot, X.rows);
    // Each micro-batch's loss seed divides by the whole batch, its gradients go to a scratch buffer and are
    // added to the first's in order, and the micro-batches' losses are summed into the step's slots.
    const m = this.passRows;
    const parts = Math.ceil(X.rows / m);
    // Losses at the start, the numbers correct from the next 256-byte boundary (a binding's alignment).
    const correctAt = Math.ceil((parts * 4) / 256) * 256;
    const sums = step.scratch(correctAt + parts * 4);
    const scratchGrads = step.scratch(this.net.layout.size * 4);
    await step.host.prepare([addInPlace]);
    let tape: Tape | null = null;
    for (let c = 0; c < parts; c++) {
      const from = c * m;
      const rows = Math.min(m, X.rows - from);
      tape = await this.pass(step, this.rows.of(step, X, from, rows, 'micro X'), this.rows.of(step, Y, from, rows, 'micro Y'), sums, c, correctAt / 4 + c, X.rows, c === 0 ? undefined : scratchGrads);
      if (c > 0) step.dispatch(addInPlace, [this.net.paramVector(scratchGrads), this.net.paramVector(this.net.grads)], { count: this.net.layout.size });
    }
    await reduce(step, 'sum', new Matrix(sums, parts, 1), null, out, lossSlot);
    if (this.loss === 'cross-entropy') await reduce(step, 'sum', new Matrix(sums, parts, 1, correctAt), null, out, correctSlot);
    return tape!;
  }

  /** Forward, loss (of rows of a batch of `batch` examples) and backward, the gradients into `into`. */
  private async pass(step: Step, X: Matrix, Y: Matrix, out: GPUBuffer, lossSlot: number, correctSlot: number, batch: number, into?: GPUBuffer): Promise<Tape> {
    const tape = await this.net.forward(step, X);
    const { seed } = this.loss === 'mse' ? await this.losses.mse(step, tape.output, Y, out, lossSlot, batch) : await this.losses.crossEntropy(step, tape.output, Y, out, lossSlot, correctSlot, batch);
    await this.net.backward(step, tape, seed, into ? { into } : {});
    return tape;
  }
}
