// The loss heads, outside the network: each takes the network's outputs F (b×k) and the targets Y, writes its
// summed loss (and, for classification, the number correct) into a metrics buffer, and returns the output seed
// whose backward pass gives the loss's gradient. `batch` is B, the size of the whole batch the loss is the mean
// over: b, or more when these rows are one micro-batch of it (the seed then divides by B, the sum adds up).
//   mse:          Σ (f − y)²  and  seed (2/B)(f − y)               (L = (1/B)‖f − y‖², the paper's eq. 1)
//   crossEntropy: Σ CE_r, Σ correct_r  and  seed (softmax(f) − y)/B
// and `correct` counts the examples an output classifies right where the loss has no argmax (MSE on class targets).
import { classifyCorrect } from '../../shaders/classify.ts';
import { softmaxCrossEntropy } from '../../shaders/softmax-xent.ts';
import type { Gpu } from '../gpu/gpu.ts';
import type { Matrix } from '../gpu/matrix.ts';
import { dispatch, linearCombination, reduce } from '../kernels/ops.ts';
import type { Step } from '../gpu/step.ts';

interface Workspace {
  residual: Matrix;
  seed: Matrix;
  rowLoss: Matrix;
  rowCorrect: Matrix;
}

export class LossHeads {
  private readonly workspaces = new Map<number, Workspace>();

  constructor(
    private readonly gpu: Gpu,
    readonly outputs: number,
  ) {}

  private check(F: Matrix, Y: Matrix): void {
    if (F.rows !== Y.rows || F.cols !== Y.cols) throw new RangeError(`loss: outputs are ${F.rows}×${F.cols}, targets ${Y.rows}×${Y.cols}`);
    if (Y.cols !== this.outputs) throw new RangeError(`loss: targets have ${Y.cols} columns, the network ${this.outputs} outputs`);
  }

  /** ‖f − y‖² (not yet divided) into out[slot]; the residual f − y and the seed (2/B)(f − y). */
  async mse(step: Step, F: Matrix, Y: Matrix, out: GPUBuffer, slot: number, batch = Y.rows): Promise<{ seed: Matrix; residual: Matrix }> {
    this.check(F, Y);
    const ws = this.workspace(Y.rows);
    await linearCombination(step, 1, F, -1, Y, ws.residual);
    await reduce(step, 'sumsq', ws.residual, null, out, slot);
    await linearCombination(step, 2 / batch, ws.residual, 0, ws.residual, ws.seed);
    return { seed: ws.seed, residual: ws.residual };
  }

  /**
   * Softmax cross-entropy against one-hot targets: the summed loss into out[lossSlot], the number correct into
   * out[correctSlot] (divide both by B), and the seed (softmax(f) − y)/B.
   */
  async crossEntropy(step: Step, F: Matrix, Y: Matrix, out: GPUBuffer, lossSlot: number, correctSlot: number, batch = Y.rows): Promise<{ seed: Matrix }> {
    this.check(F, Y);
    const ws = this.workspace(Y.rows);
    await dispatch(step, softmaxCrossEntropy, [F, Y, ws.rowLoss, ws.rowCorrect, ws.seed], { rows: Y.rows, classes: this.outputs, divisor: batch });
    await reduce(step, 'sum', ws.rowLoss, null, out, lossSlot);
    await reduce(step, 'sum', ws.rowCorrect, null, out, correctSlot);
    return { seed: ws.seed };
  }

  /** The number of rows of F that classify Y right (±1 targets by sign, one-hot by argmax) into out[slot]. */
  async correct(step: Step, F: Matrix, Y: Matrix, out: GPUBuffer, slot: number): Promise<void> {
    this.check(F, Y);
    const ws = this.workspace(Y.rows);
    await dispatch(step, classifyCorrect, [F, Y, ws.rowCorrect], { rows: Y.rows, classes: this.outputs });
    await reduce(step, 'sum', ws.rowCorrect, null, out, slot);
  }

  private workspace(b: number): Workspace {
    let ws = this.workspaces.get(b);
    if (ws) return ws;
    const m = (label: string, cols: number) => this.gpu.matrix(`${label} (batch ${b})`, b, cols, undefined, 'use a smaller batch');
    ws = { residual: m('residual', this.outputs), seed: m('loss seed', this.outputs), rowLoss: m('per-example loss', 1), rowCorrect: m('per-example correct', 1) };
    this.workspaces.set(b, ws);
    return ws;
  }

  destroy(): void {
    for (const ws of this.workspaces.values()) for (const m of Object.values(ws)) m.buffer.destroy();
    this.workspaces.clear();
  }
}
