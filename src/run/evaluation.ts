// Loss (and accuracy) of the current parameters on whole data sets, in forward passes of at most EVAL_CHUNK
// rows so that a 10,000-example evaluation does not need 10,000-row buffers.
import type { Dataset } from '../data/dataset.ts';
import type { Gpu } from '../gpu/gpu.ts';
import type { Matrix } from '../gpu/matrix.ts';
import type { LossHeads } from '../nn/loss.ts';
import type { Network } from '../nn/network.ts';
import type { EvalRecord } from '../track/record.ts';
import type { RowCopies } from '../gpu/row-copies.ts';
import type { LossName } from './train-config.ts';

const EVAL_CHUNK = 2048;

/** A data set on the GPU. */
export interface GpuSet {
  data: Dataset;
  X: Matrix;
  Y: Matrix;
}

export class Evaluator {
  private readonly out: GPUBuffer;
  /** Rows per evaluation pass: at most EVAL_CHUNK, and what one pass of the network takes. */
  private readonly chunk: number;

  constructor(
    private readonly gpu: Gpu,
    private readonly net: Network,
    private readonly losses: LossHeads,
    private readonly loss: LossName,
    private readonly sets: { train: GpuSet; val?: GpuSet; test?: GpuSet },
    private readonly rows: RowCopies,
    passRows: number,
  ) {
    this.chunk = Math.min(EVAL_CHUNK, passRows);
    const chunks = Math.max(...Object.values(sets).map((s) => Math.ceil(s.data.n / this.chunk)));
    this.out = gpu.createBuffer({ label: 'evaluation metrics', size: chunks * 2 * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  }

  /** Loss (and accuracy) on each data set, the record of an evaluation after `step` updates. */
  async evaluate(step: number): Promise<EvalRecord> {
    const out: EvalRecord = { step, trainLoss: NaN };
    for (const name of ['train', 'val', 'test'] as const) {
      const set = this.sets[name];
      if (!set) continue;
      const { loss, accuracy } = await this.evaluateSet(set);
      out[`${name}Loss`] = loss;
      if (accuracy !== undefined) out[`${name}Accuracy`] = accuracy;
    }
    return out;
  }

  private async evaluateSet(set: GpuSet): Promise<{ loss: number; accuracy?: number }> {
    const n = set.data.n;
    const chunks = Math.ceil(n / this.chunk);
    // MSE on class targets (±1, one-hot) has an accuracy too; regression targets (the synthetic tasks) have none.
    const classes = set.data.labels !== undefined;
    const step = this.gpu.step('evaluate');
    for (let ci = 0; ci < chunks; ci++) {
      const from = ci * this.chunk;
      const rows = Math.min(this.chunk, n - from);
      const X = this.rows.of(step, set.X, from, rows, 'X');
      const Y = this.rows.of(step, set.Y, from, rows, 'Y');
      const { output } = await this.net.forward(step, X);
      if (this.loss === 'mse') {
        await this.losses.mse(step, output, Y, this.out, 2 * ci);
        if (classes) await this.losses.correct(step, output, Y, this.out, 2 * ci + 1);
      } else await this.losses.crossEntropy(step, output, Y, this.out, 2 * ci, 2 * ci + 1);
    }
    this.gpu.submit(step);
    const v = await this.gpu.read(this.out, 0, chunks * 2 * 4);
    let loss = 0;
    let correct = 0;
    for (let ci = 0; ci < chunks; ci++) {
      loss += v[2 * ci];
      correct += v[2 * ci + 1];
    }
    return this.loss === 'mse' && !classes ? { loss: loss / n } : { loss: loss / n, accuracy: correct / n };
  }

  destroy(): void {
    this.out.destroy();
  }
}
