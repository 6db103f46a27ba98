// The tracked set's spectrum as the step record holds it, and the way a small formed kernel gets it without
// pausing training: each due step copies its K and its residual into its metrics row's slot of a staging
// buffer, inside the training step's own encoder; both come back with the metrics, and float64 Lanczos
// (src/ntk/lanczos-host.ts) runs on each then, as the exact batch solve does (src/ntk/exact-batch.ts). So the
// training step neither forms K a second time nor waits for the GPU to drain before it is recorded.
import type { Gpu } from '../gpu/gpu.ts';
import type { Matrix } from '../gpu/matrix.ts';
import type { Step } from '../gpu/step.ts';
import { hostLanczos } from './lanczos-host.ts';

/** What the spectrum found at one step. */
export interface SpectrumRecord {
  /** The top s eigenvalues of the set's NTK, largest first. */
  eigenvalues: number[];
  lambdaMin: number;
  condition: number;
  /** L≤s = (1/n) Σ_{j≤s} (u_jᵀ r)² and L>s = L − L≤s. */
  lossTopS: number;
  lossRestS: number;
  lanczosIterations: number;
  /** Per eigenvalue, and for λ_min, the Lanczos estimate of ‖Ku − θu‖/θ. */
  eigenvalueResiduals: number[];
  lambdaMinResidual: number;
}

/** A Lanczos result and the residual's projections on its Ritz vectors, as the record states them. */
export function spectrumRecord(
  n: number,
  r: { values: number[]; smallest: number; iterations: number; residuals: number[]; smallestResidual: number },
  projections: ArrayLike<number>,
  sumOfSquares: number,
): SpectrumRecord {
  let top = 0;
  for (let i = 0; i < projections.length; i++) top += projections[i] ** 2;
  return {
    eigenvalues: r.values,
    lambdaMin: r.smallest,
    condition: r.values[0] / r.smallest,
    lossTopS: top / n,
    lossRestS: (sumOfSquares - top) / n,
    lanczosIterations: r.iterations,
    eigenvalueResiduals: r.residuals.map((x, i) => x / Math.abs(r.values[i])),
    lambdaMinResidual: r.smallestResidual / Math.abs(r.smallest),
  };
}

/**
 * The most bytes of kernels and residuals staged between two readbacks (a larger run takes the GPU's Lanczos):
 * room for the largest host kernel (nk = 1024 on SwiftShader, src/track/probes/spectrum.ts) at the default 25 steps
 * between readbacks, 105 MiB, under the 256 MiB maxBufferSize every WebGPU device offers.
 */
const STAGING_MAX_BYTES = 128 * 2 ** 20;

export class StagedSpectrum {
  private staging: GPUBuffer | null = null;
  /** Per metrics row, the step staged there. */
  private readonly staged = new Map<number, number>();
  private readonly solved = new Map<number, SpectrumRecord>();

  /** Whether `rows` steps of a dim×dim kernel and its residual fit the staging limit. */
  static fits(rows: number, dim: number): boolean {
    return rows * (dim * dim + dim) * 4 <= STAGING_MAX_BYTES;
  }

  constructor(
    private readonly gpu: Gpu,
    /** Rows of the metrics buffer: how many steps may be staged before a readback. */
    private readonly rows: number,
    /** nk, the kernel's dimension. */
    private readonly dim: number,
    /** Examples in the set (the loss is a mean over them). */
    private readonly n: number,
    private readonly lanczos: { top: number; iterations: number },
  ) {}

  private get slotFloats(): number {
    return this.dim * this.dim + this.dim;
  }

  /** Records the copy of step t's kernel K and residual r (output-major) into metrics row `row`'s slot. */
  stage(step: Step, K: Matrix, residual: Matrix, row: number, t: number): void {
    const dim = this.dim;
    if (K.rows !== dim || K.cols !== dim || residual.length !== dim) throw new RangeError(`set spectrum: expected a ${dim}×${dim} kernel and ${dim} residuals, got ${K.rows}×${K.cols} and ${residual.length}`);
    this.staging ??= this.gpu.createBuffer({
      label: 'set kernels for the spectrum',
      size: this.rows * this.slotFloats * 4,
      usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    });
    const at = row * this.slotFloats * 4;
    step.copy(K.buffer, this.staging, dim * dim * 4, K.offset, at);
    step.copy(residual.buffer, this.staging, dim * 4, residual.offset, at + dim * dim * 4);
    this.staged.set(row, t);
  }

  /** Reads back every staged kernel and solves it; take() then hands each step its spectrum. */
  async collect(): Promise<void> {
    if (!this.staging || this.staged.size === 0) return;
    const stride = this.slotFloats;
    const last = Math.max(...this.staged.keys());
    const values = await this.gpu.read(this.staging, 0, (last + 1) * stride * 4);
    const dim = this.dim;
    for (const [row, t] of this.staged) {
      const K = values.subarray(row * stride, row * stride + dim * dim);
      const residual = values.subarray(row * stride + dim * dim, (row + 1) * stride);
      const r = hostLanczos(K, dim, { count: this.lanczos.top, seed: t, iterations: this.lanczos.iterations });
      const projections = r.vectors.map((u) => u.reduce((sum, x, i) => sum + x * residual[i], 0));
      let sumOfSquares = 0;
      for (const x of residual) sumOfSquares += x * x;
      this.solved.set(t, spectrumRecord(this.n, r, projections, sumOfSquares));
    }
    this.staged.clear();
  }

  /** Step t's spectrum, once collected. */
  take(t: number): SpectrumRecord | undefined {
    const r = this.solved.get(t);
    this.solved.delete(t);
    return r;
  }

  destroy(): void {
    this.staging?.destroy();
  }
}
