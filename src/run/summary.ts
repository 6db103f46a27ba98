// A finished (or ended) run's summary: the catapult events and the preset's headline numbers, computed on
// the host from the records. Host-neutral: the CLI writes it as summary.json, the lab shows it.
import { analyzeMatch, detectCatapults, type CatapultInput, type MatchAnalysis, type Spike } from './catapults.ts';
import { convergenceSummary, toleranceOf, type ConvergenceLine } from './convergence.ts';
import type { Headline } from './presets.ts';
import type { EvalRecord, RunResult, StepRecord, TrainConfig } from './train.ts';

export interface Headlines {
  status?: string;
  /** Share of full-set loss increases at critical steps (Table 2). */
  matchRate?: number;
  /**
   * Steps with η − η_crit(batch) > 1e-8 (until the best validation loss where there is one); for an adaptive
   * optimizer with tracking.preconditioned, η − b/λ_max(J·P·Jᵀ); for AdaGrad without it, η − s_t·η_crit(batch),
   * an upper bound.
   */
  criticalSteps?: number;
  spikes?: number;
  lambdaBefore?: number;
  lambdaAfter?: number;
  testLoss?: number;
  testAccuracy?: number;
  alignment?: number;
  /** The last training loss: the last evaluation's, else the last step's; for a diverged run, its last finite step loss. */
  finalLoss?: number;
  /** Where a run diverged: the step and the loss (NaN, ±Infinity or over divergeAbove) that ended it. */
  divergedAt?: number;
  divergedLoss?: number;
  /** Median over steps of (2/λ_max(H)) / (b/λ_max(K_batch)). */
  hessianAgreement?: number;
}

export interface RunSummary {
  status: string;
  message?: string;
  steps: number;
  headline: Headlines;
  criticalSteps: number[];
  spikes: Spike[];
  /** Per tracked eigenvalue with residuals: steps tracked, steps not converged (src/run/convergence.ts). */
  convergence: { tolerance: number; quantities: Record<string, ConvergenceLine> };
  /** Where η_crit(batch) was tracked: the match rate without small increases, and η/η_crit at the rises. */
  matchAnalysis?: MatchAnalysis;
}

/**
 * The series the catapult detector reads: η_crit of each step's batch (for GD without batch tracking, the
 * tracked set's n/λ_max when the set is the whole batch) and the loss whose increases count: the full
 * training loss where it was evaluated every step (sgd-spikes, as the paper measures), else the step's.
 */
export function catapultSeries(config: TrainConfig, records: StepRecord[], evals: EvalRecord[], trainSize: number): CatapultInput[] {
  const fullBatch = config.batchSize === 'full' || config.batchSize === trainSize;
  const setIsBatch = fullBatch && config.tracking?.set?.examples === trainSize;
  const evalAt = new Map(evals.map((e) => [e.step, e.trainLoss]));
  const everyStep = config.evalEvery === 1;
  const series: CatapultInput[] = records.map((r) => ({
    step: r.step,
    lr: r.lr,
    loss: everyStep && evalAt.has(r.step) ? evalAt.get(r.step)! : r.loss,
    // An adaptive optimizer's own critical rate where it is tracked; else η_crit(batch), scaled to the s_t bound for AdaGrad.
    etaCrit: r.etaCritPreconditioned ?? adagradScale(r, r.etaCrit ?? (setIsBatch && r.lambda !== undefined ? trainSize / r.lambda : undefined)),
    lambda: r.lambda,
  }));
  // The loss after the last step's update is only in the final evaluation: without it a rise at the last
  // step goes uncounted. It joins where it measures what the series does (the full training loss).
  const last = records[records.length - 1];
  const after = last ? evalAt.get(last.step + 1) : undefined;
  if (after !== undefined && (everyStep || fullBatch)) series.push({ step: last.step + 1, lr: NaN, loss: after });
  return series;
}

/**
 * AdaGrad moves parameter i at η/sqrt(G_i) ≤ η/s_t, so the preconditioned kernel's λ_max is at most
 * λ_max(K)/s_t and a step can only be critical when η/s_t > η_crit, that is η > s_t·η_crit (the student
 * report's bound). The count is therefore an upper bound on AdaGrad's critical steps. Undefined while
 * s_t = 0 (nothing accumulated yet).
 */
function adagradScale(r: StepRecord, etaCrit: number | undefined): number | undefined {
  if (etaCrit === undefined || r.adagradS === undefined) return etaCrit;
  return r.adagradS > 0 ? r.adagradS * etaCrit : undefined;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};

/** A headline number as text: counts as integers, measured values to 4 significant digits. */
export const headlineText = (v: unknown): string => (typeof v !== 'number' ? String(v) : Number.isInteger(v) ? String(v) : v.toPrecision(4));

export function summarize(config: TrainConfig, result: RunResult, trainSize: number, wanted: Headline[] = []): RunSummary {
  const series = catapultSeries(config, result.records, result.evals, trainSize);
  const report = detectCatapults(series);
  const last = <T>(xs: T[], f: (x: T) => number | undefined) => {
    for (let i = xs.length - 1; i >= 0; i--) {
      const v = f(xs[i]);
      if (v !== undefined && !Number.isNaN(v)) return v;
    }
    return undefined;
  };
  const first = <T>(xs: T[], f: (x: T) => number | undefined) => last([...xs].reverse(), f);
  const diverged = result.status === 'diverged';
  // Catapults until the best validation loss, where validation was measured.
  const vals = result.evals.filter((e) => e.valLoss !== undefined);
  const best = vals.length ? vals.reduce((a, b) => (b.valLoss! < a.valLoss! ? b : a)).step : Infinity;
  const h: Headlines = {
    status: result.status,
    matchRate: report.matchRate,
    criticalSteps: report.criticalSteps.filter((t) => t < best).length,
    spikes: report.spikes.length,
    lambdaBefore: first(result.records, (r) => r.lambda),
    lambdaAfter: last(result.records, (r) => r.lambda),
    testLoss: last(result.evals, (e) => e.testLoss),
    testAccuracy: last(result.evals, (e) => e.testAccuracy),
    alignment: last(result.records, (r) => r.alignment),
    finalLoss: diverged ? last(result.records, (r) => (Number.isFinite(r.loss) ? r.loss : undefined)) : (last(result.evals, (e) => e.trainLoss) ?? last(result.records, (r) => r.loss)),
    hessianAgreement: median(result.records.filter((r) => r.etaCritHessian !== undefined && r.etaCrit !== undefined).map((r) => r.etaCritHessian! / r.etaCrit!)),
  };
  const headline: Headlines = {};
  const ended = result.records[result.records.length - 1];
  const shown: (keyof Headlines)[] = wanted.length ? [...wanted] : (Object.keys(h) as (keyof Headlines)[]);
  if (diverged && ended) {
    h.divergedAt = ended.step;
    h.divergedLoss = ended.loss;
    shown.push('divergedAt', 'divergedLoss');
  }
  for (const key of shown) {
    const v = h[key];
    // A number that was not measured (NaN) is left out, but for the loss that ended a diverged run.
    if (v !== undefined && (key === 'divergedLoss' || !(typeof v === 'number' && Number.isNaN(v)))) (headline as Record<string, unknown>)[key] = v;
  }
  return { status: result.status, ...(result.message ? { message: result.message } : {}), steps: result.steps, headline, criticalSteps: report.criticalSteps, spikes: report.spikes,
    convergence: convergenceSummary(result.records, toleranceOf(config)),
    ...(series.some((r) => r.etaCrit !== undefined) ? { matchAnalysis: analyzeMatch(series) } : {}),
  };
}
