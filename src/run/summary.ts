// A finished (or ended) run's summary: the catapult events and the preset's headline numbers, computed on
// the host from the records. Host-neutral: the CLI writes it as summary.json, the lab shows it.
import { analyzeMatch, detectCatapults, MATCH_RATE_DEFINITIONS, type CatapultInput, type CatapultReport, type MatchAnalysis, type Spike } from './catapults.ts';
import { convergenceSummary, toleranceOf, type ConvergenceLine } from './convergence.ts';
import type { Headline } from './presets.ts';
import type { EvalRecord, RunResult, StepRecord, TrainConfig } from './train.ts';

export interface Headlines {
  status?: string;
  /** Share of full-set loss increases at critical steps (Table 2, the paper's text). */
  matchRate?: number;
  /** Share of the steps whose own batch's loss rose across them at critical steps. */
  ownBatchMatchRate?: number;
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
  /** Where η_crit(batch) was tracked: both match rates with their counts and definitions, or why one is not known. */
  matchRates?: MatchRates;
  /** Where η_crit(batch) and the total loss were tracked: the match rate without small increases, and η/η_crit at the rises. */
  matchAnalysis?: MatchAnalysis;
}

/** One match rate: its definition, and its count or why it could not be computed. */
export interface MatchRateLine {
  definition: string;
  increases: number;
  matched: number;
  /** NaN where none rose or it could not be computed. */
  rate: number;
  unavailable?: string;
}

export type MatchRates = Record<keyof typeof MATCH_RATE_DEFINITIONS, MatchRateLine>;

function matchRates(r: CatapultReport): MatchRates {
  const critical = new Set(r.criticalSteps);
  const line = (key: keyof typeof MATCH_RATE_DEFINITIONS, increases: number[], rate: number): MatchRateLine => ({
    definition: MATCH_RATE_DEFINITIONS[key],
    increases: increases.length,
    matched: increases.filter((t) => critical.has(t)).length,
    rate,
    ...(r.unavailable[key] ? { unavailable: r.unavailable[key] } : {}),
  });
  return { matchRate: line('matchRate', r.increases, r.matchRate), ownBatchMatchRate: line('ownBatchMatchRate', r.ownBatchIncreases, r.ownBatchMatchRate) };
}

/** The series the catapult detector reads, and, where its loss is each step's batch loss, why. */
export interface CatapultSeries {
  records: CatapultInput[];
  batchLossOnly?: string;
}

/**
 * The series the catapult detector reads: η_crit of each step's batch (for GD without batch tracking, the
 * tracked set's n/λ_max when the set is the whole batch); the loss whose increases count, the whole training
 * set's at every step (tracking.match's, else evaluations at every step, else the batch's where the batch is
 * the whole set), or else the step's batch loss with the reason; and the batch's own loss across its step.
 */
export function catapultSeries(config: TrainConfig, records: StepRecord[], evals: EvalRecord[], trainSize: number): CatapultSeries {
  const fullBatch = config.batchSize === 'full' || config.batchSize === trainSize;
  const setIsBatch = fullBatch && config.tracking?.set?.examples === trainSize;
  const evalAt = new Map(evals.map((e) => [e.step, e.trainLoss]));
  const measured = records.length > 0 && records.every((r) => r.totalLoss !== undefined);
  const everyStep = config.evalEvery === 1 && records.every((r) => evalAt.has(r.step));
  const total = measured ? (r: StepRecord) => r.totalLoss! : everyStep ? (r: StepRecord) => evalAt.get(r.step)! : fullBatch ? (r: StepRecord) => r.loss : null;
  const last = records[records.length - 1];
  // The loss after the last step's update is only in the final evaluation.
  const after = last ? evalAt.get(last.step + 1) : undefined;
  const series: CatapultInput[] = records.map((r, i) => {
    const batchLossAfter = r.batchLossAfter ?? (fullBatch ? (records[i + 1]?.loss ?? after) : undefined);
    return {
      step: r.step,
      lr: r.lr,
      loss: total ? total(r) : r.loss,
      // An adaptive optimizer's own critical rate where it is tracked; else η_crit(batch), scaled to the s_t bound for AdaGrad.
      etaCrit: r.etaCritPreconditioned ?? adagradScale(r, r.etaCrit ?? (setIsBatch && r.lambda !== undefined ? trainSize / r.lambda : undefined)),
      lambda: r.lambda,
      ...(batchLossAfter !== undefined ? { batchLoss: r.loss, batchLossAfter } : {}),
    };
  });
  // Without the loss after the last update a rise at the last step goes uncounted; it joins the whole set's series.
  if (after !== undefined && total) series.push({ step: last.step + 1, lr: NaN, loss: after });
  if (total) return { records: series };
  const every = config.tracking?.match?.every;
  const why = every !== undefined && every > 1 ? `tracking.match measured it every ${every} steps` : `the run evaluated it every ${config.evalEvery ?? 0} steps`;
  return { records: series, batchLossOnly: `the training set's loss was not measured at every step (${why}): track tracking.match every step, or set evalEvery 1` };
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
  const report = detectCatapults(series.records, { batchLossOnly: series.batchLossOnly });
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
  const tracked = series.records.some((r) => r.etaCrit !== undefined);
  const h: Headlines = {
    status: result.status,
    matchRate: report.matchRate,
    ownBatchMatchRate: report.ownBatchMatchRate,
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
    ...(tracked ? { matchRates: matchRates(report) } : {}),
    ...(tracked && !series.batchLossOnly ? { matchAnalysis: analyzeMatch(series.records) } : {}),
  };
}
