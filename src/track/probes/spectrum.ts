// The tracked set's top eigenvalues by Lanczos, λ_min and the condition number, and the loss split L≤s / L>s
// over the top s eigendirections. A formed kernel small enough for the host is copied out in the training step
// with its residual and solved by float64 Lanczos when the metrics are read back (src/ntk/set-spectrum.ts);
// a larger or matrix-free one gets Lanczos on the GPU, which reads back, so it runs in steps of its own before
// the training step it belongs to (before()).
import { z } from 'zod';
import type { AdapterClass } from '../../gpu/adapter.ts';
import { matmul } from '../../kernels/ops.ts';
import { StagedSpectrum, spectrumRecord, type SpectrumRecord } from '../../ntk/set-spectrum.ts';
import { Lanczos } from '../../ntk/spectrum.ts';
import { every, integer } from '../../util/schema-fields.ts';
import { defineProbe, dueEvery, type ProbeSetup, type StepContext } from '../probe.ts';

/**
 * Formed kernels up to this dimension nk get their spectrum on the host: there a copy of K read back with the
 * metrics and a float64 Lanczos cost less than the GPU recurrence's ~10 dispatches per step, whose launch
 * overhead dominates at small sizes (bench/dispatch.ts measures the crossing; bench/RESULTS.md has the figures).
 */
const HOST_SPECTRUM_MAX: Record<AdapterClass, number> = { gpu: 256, lavapipe: 512, swiftshader: 1024, software: 1024 };

const DEFAULT_LANCZOS_STEPS = 60;

const schema = z
  .strictObject(
    {
      top: integer(1, 'eigenvalues to track', 10),
      every: every(),
      iterations: integer(1, 'Lanczos iterations').optional(),
    },
    { error: () => 'must be an object' },
  )
  .describe('the top eigenvalues, λ_min and the condition number of the set');

type SpectrumConfig = z.infer<typeof schema>;

const lanczosSteps = (c: SpectrumConfig, dim: number) => Math.min(c.iterations ?? DEFAULT_LANCZOS_STEPS, dim);

export const spectrumProbe = defineProbe({
  key: 'spectrum',
  schema,
  slots: [],
  fields: {
    eigenvalues: { label: 'the set’s top-s NTK eigenvalues', list: true },
    lambdaMin: { label: 'λ_min of the set’s NTK (the smallest Ritz value)' },
    condition: { label: 'λ_max/λ_min' },
    lossTopS: { label: 'L≤s, the set’s loss in the top-s eigenspace' },
    lossRestS: { label: 'L>s, the rest of the set’s loss' },
    eigenvalueResiduals: { label: 'each top eigenvalue’s relative residual', list: true },
    lambdaMinResidual: { label: 'λ_min’s relative residual' },
  },
  eigenvalues: [
    { value: 'lambdaMin', residual: 'lambdaMinResidual', label: 'λ_min of the tracked set’s NTK (Lanczos)' },
    { value: 'eigenvalues', residual: 'eigenvalueResiduals', label: 'top eigenvalues of the tracked set’s NTK (Lanczos; the largest residual of them)' },
  ],
  charts: [
    {
      id: 'condition',
      title: 'Condition number of the tracked set’s NTK',
      yLabel: 'λ_max/λ_min',
      log: true,
      source: 'steps',
      series: () => [{ label: 'λ_max/λ_min', step: (r) => r.condition, compare: true }],
    },
  ],
  setProducts: lanczosSteps,
  check(_c, tracking) {
    if (!tracking.set) throw new RangeError('tracking.spectrum needs tracking.set: it is the spectrum of the tracked set');
  },
  create(setup, config) {
    return new SpectrumProbe(setup, config);
  },
});

class SpectrumProbe {
  readonly due: (t: number) => boolean;
  /** The host path: set where the set's K is formed and small enough (else the GPU's Lanczos, `lanczos`). */
  private readonly staged: StagedSpectrum | null = null;
  private readonly lanczos: Lanczos | null = null;
  private readonly steps: number;
  private readonly top: number;
  /** Spectra found by before(), by step, until read() hands them to their step's record. */
  private readonly found = new Map<number, SpectrumRecord>();

  constructor(
    private readonly setup: ProbeSetup,
    config: SpectrumConfig,
  ) {
    const { gpu, set, metricRows } = setup;
    const nk = set!.n * setup.net.outputs;
    this.due = dueEvery(config.every);
    this.steps = lanczosSteps(config, nk);
    if (set!.K !== null && nk <= HOST_SPECTRUM_MAX[gpu.adapter.kind] && StagedSpectrum.fits(metricRows, nk)) {
      this.staged = new StagedSpectrum(gpu, metricRows, nk, set!.n, { top: config.top, iterations: this.steps });
    } else {
      this.lanczos = new Lanczos(gpu, nk, this.steps);
    }
    this.top = config.top;
  }

  /** The GPU path: Lanczos at the parameters step t will see, its Ritz vectors' projections on the residual. */
  async before(t: number): Promise<void> {
    if (!this.lanczos || !this.due(t)) return;
    const { gpu } = this.setup;
    const set = this.setup.set!;
    const step = gpu.step(`spectrum ${t}`);
    await set.at(step, t, null).evaluate();
    gpu.submit(step);
    const r = await this.lanczos.run(set.operator, { count: this.top, seed: t, iterations: this.steps });
    const proj = gpu.matrix('spectrum projections', r.values.length, 1);
    const tail = gpu.step(`spectrum projections ${t}`);
    await matmul(tail, r.vectors, set.residual, proj, { transA: true });
    gpu.submit(tail);
    const projections = await gpu.read(proj.buffer);
    const [sumOfSquares] = await gpu.read(set.lossSum, 0, 4);
    proj.buffer.destroy();
    r.vectors.buffer.destroy();
    this.found.set(t, spectrumRecord(set.n, r, projections, sumOfSquares));
  }

  async record(ctx: StepContext): Promise<void> {
    if (!this.staged) return;
    const { K, residual } = await ctx.set!.evaluate();
    this.staged.stage(ctx.step, K!, residual, ctx.row, ctx.t);
  }

  async collect(): Promise<void> {
    await this.staged?.collect();
  }

  read(ctx: { t: number }) {
    const s = this.found.get(ctx.t) ?? this.staged?.take(ctx.t);
    if (!s) return {};
    this.found.delete(ctx.t);
    return {
      eigenvalues: s.eigenvalues,
      lambdaMin: s.lambdaMin,
      condition: s.condition,
      lossTopS: s.lossTopS,
      lossRestS: s.lossRestS,
      eigenvalueResiduals: s.eigenvalueResiduals,
      lambdaMinResidual: s.lambdaMinResidual,
    };
  }

  destroy(): void {
    this.staged?.destroy();
    this.lanczos?.destroy();
  }
}
