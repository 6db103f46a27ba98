// Each step's batch: the whole training set (gradient descent), or the next batch of a seeded order, gathered
// on the GPU from the training set uploaded once by an index list written each step.
import { BatchOrder } from '../data/splits.ts';
import type { Gpu } from '../gpu/gpu.ts';
import type { Matrix } from '../gpu/matrix.ts';
import { gather } from '../kernels/ops.ts';
import type { Step } from '../gpu/step.ts';

export class Batches {
  /** The batch order (null: every step is the whole set). */
  private readonly order: BatchOrder | null;
  /** The batch's row numbers in the training set, written each step. */
  readonly index: GPUBuffer;
  private readonly bySize = new Map<number, { X: Matrix; Y: Matrix }>();

  constructor(
    private readonly gpu: Gpu,
    private readonly X: Matrix,
    private readonly Y: Matrix,
    readonly size: number,
    seed: number,
  ) {
    if (size > X.rows) throw new RangeError(`batchSize ${size} is larger than the training set (${X.rows})`);
    this.order = size === X.rows ? null : new BatchOrder(X.rows, size, seed);
    this.index = gpu.createBuffer({ label: 'batch indices', size: size * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  }

  /** Whether every step's batch is the whole training set. */
  get full(): boolean {
    return this.order === null;
  }

  /** The next step's batch, gathered in `step`, with its index list (null for the whole set). */
  async next(step: Step): Promise<{ X: Matrix; Y: Matrix; index: GPUBuffer | null }> {
    if (!this.order) return { X: this.X, Y: this.Y, index: null };
    const index = this.order.next();
    const batch = this.matrices(index.length);
    this.gpu.write(this.index, index);
    await gather(step, this.X, this.index, batch.X);
    await gather(step, this.Y, this.index, batch.Y);
    return { ...batch, index: this.index };
  }

  /** Replays the draws of `steps` steps (a resumed run's order is a pure function of the seed). */
  skip(steps: number): void {
    for (let t = 0; t < steps; t++) this.order?.next();
  }

  /** Rows in the batch of step t (the last batch of an epoch can be smaller). */
  rows(t: number): number {
    if (!this.order) return this.size;
    const n = this.X.rows;
    const perEpoch = Math.ceil(n / this.size);
    const k = t % perEpoch;
    return k === perEpoch - 1 ? n - k * this.size : this.size;
  }

  private matrices(rows: number): { X: Matrix; Y: Matrix } {
    let m = this.bySize.get(rows);
    if (!m) this.bySize.set(rows, (m = { X: this.gpu.matrix(`batch inputs (${rows})`, rows, this.X.cols), Y: this.gpu.matrix(`batch targets (${rows})`, rows, this.Y.cols) }));
    return m;
  }

  destroy(): void {
    this.index.destroy();
    for (const m of this.bySize.values()) for (const x of [m.X, m.Y]) x.buffer.destroy();
  }
}
