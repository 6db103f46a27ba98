// λ_max of each tracked step's batch NTK to a stated tolerance: the formed kernel of step t is copied into
// row t's slot of a staging buffer inside the training step's encoder, read back with the metrics, and
// solved on the host in float64 (src/ntk/lanczos-host.ts). Warm-started power iteration with a fixed count
// can stop short of λ_max when the batch, and so the kernel, changes every step; this cannot, and it records
// the residual it reached. Nothing waits for it: the kernels come back when the runner reads the metrics.
import type { Gpu } from '../gpu/gpu.ts';
import type { Matrix } from '../gpu/matrix.ts';
import type { Step } from '../gpu/step.ts';
import { topEigenpair, type TopEigenpair } from './lanczos-host.ts';

/** The relative residual ‖K u − λ u‖/λ the exact solve reaches (float64 Lanczos on the float32 kernel). */
export const EXACT_TOLERANCE = 1e-6;

/** Batch kernels up to this dimension (b·k) are solved exactly by default: 256 KiB a step to read back. */
export const EXACT_BATCH_MAX = 256;

export class ExactBatchEigen {
  private staging: GPUBuffer | null = null;
  /** Per metrics row: the step staged there and its kernel's dimension. */
  private readonly staged = new Map<number, { t: number; dim: number }>();
  private readonly solved = new Map<number, TopEigenpair>();

  constructor(
    private readonly gpu: Gpu,
    /** Rows of the metrics buffer: how many steps may be staged before a readback. */
    private readonly rows: number,
    /** The largest kernel dimension a step can have (the batch size times the outputs). */
    private readonly maxDim: number,
  ) {}

  /** Records the copy of step t's batch kernel K into metrics row `row`'s slot. */
  stage(step: Step, K: Matrix, row: number, t: number): void {
    const dim = K.rows;
    if (dim > this.maxDim) throw new RangeError(`exact batch λ_max: a ${dim}×${dim} kernel is larger than the ${this.maxDim} rows this run was set up for`);
    this.staging ??= this.gpu.createBuffer({
      label: 'batch kernels for the exact λ_max',
      size: this.rows * this.maxDim * this.maxDim * 4,
      usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
      shrink: 'read the metrics back more often (readbackEvery), or use tracking.batch.solver "power"',
    });
    step.copy(K.buffer, this.staging, dim * dim * 4, K.offset, row * this.maxDim * this.maxDim * 4);
    this.staged.set(row, { t, dim });
  }

  /** Reads back every staged kernel and solves it; take() then hands each step its result. */
  async collect(): Promise<void> {
    if (!this.staging || this.staged.size === 0) return;
    const last = Math.max(...this.staged.keys());
    const stride = this.maxDim * this.maxDim;
    const values = await this.gpu.read(this.staging, 0, (last * stride + this.staged.get(last)!.dim ** 2) * 4);
    for (const [row, { t, dim }] of this.staged) {
      const K = values.subarray(row * stride, row * stride + dim * dim);
      this.solved.set(t, topEigenpair(K, dim, { tolerance: EXACT_TOLERANCE, seed: t }));
    }
    this.staged.clear();
  }

  /** Step t's λ_max and residual, once collected. */
  take(t: number): TopEigenpair | undefined {
    const r = this.solved.get(t);
    this.solved.delete(t);
    return r;
  }

  destroy(): void {
    this.staging?.destroy();
  }
}
