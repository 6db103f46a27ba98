// The paper's catapult bookkeeping over a run's per-step records (host side, after readback):
//   critical steps: η_t − η_crit(batch_t) > ε (the paper's count, ε = 1e-8);
//   loss increases: ΔL_t = L_{t+1} − L_t > 0 of the whole training set's loss; the match rate is the share of
//     increases at steps that were critical (Table 2, as the paper's text defines it);
//   own-batch increases: L_{B_t}(w^{t+1}) > L_{B_t}(w^t), the step's batch across its own step; the own-batch
//     match rate is their share at critical steps. To first order a step moves the batch's residual by
//     I − 2ηK_B/b, whose eigenvalues lie in (−1, 1] below η_crit(batch), so that loss can rise only at a critical
//     step, while the other points' loss can rise at any step: the two rates differ by what SGD does elsewhere;
//   spikes: a rise of the loss by more than `minRise` (relative) from where it started, with its start,
//     peak, height, duration (until the loss is back to its starting level) and the drop of λ_max across it.
//     A rise must also be taller than `noiseFloor` × the run's loss scale (its first finite loss): near
//     convergence a loss of 1e-15 that rounds to 2e-15 is a 100% rise made of float32 rounding, not a spike.

export interface CatapultInput {
  step: number;
  lr: number;
  loss: number;
  /** η_crit of the step's batch, b/λ_max(K_batch), where tracked. */
  etaCrit?: number;
  /** λ_max of the tracked set's NTK, where tracked. */
  lambda?: number;
  /** The step's batch loss before and after its update, L_B(w^t) and L_B(w^{t+1}), where both were measured. */
  batchLoss?: number;
  batchLossAfter?: number;
}

export interface Spike {
  start: number;
  peak: number;
  /** First step at or after the peak whose loss is back at or below the start's; null if it never came back. */
  end: number | null;
  startLoss: number;
  peakLoss: number;
  /** peakLoss − startLoss, and peakLoss / startLoss. */
  height: number;
  ratio: number;
  /** end − start, or null. */
  duration: number | null;
  /** λ_max at start and end, and start − end (positive: λ_max dropped), where λ is tracked. */
  lambdaBefore?: number;
  lambdaAfter?: number;
  lambdaDrop?: number;
}

export interface CatapultReport {
  /** Steps with η − η_crit(batch) > ε. */
  criticalSteps: number[];
  /** Steps t with L_{t+1} > L_t (none where the loss is not the whole set's). */
  increases: number[];
  /** Share of increases at critical steps (NaN when none increased, η_crit is not tracked or the loss is not the whole set's). */
  matchRate: number;
  /** Steps t with L_{B_t}(w^{t+1}) > L_{B_t}(w^t). */
  ownBatchIncreases: number[];
  /** Share of own-batch increases at critical steps (NaN when none, or η_crit or the batch's loss after its step is not tracked). */
  ownBatchMatchRate: number;
  /** Why a match rate is NaN, where one is and η_crit is tracked. */
  unavailable: { matchRate?: string; ownBatchMatchRate?: string };
  spikes: Spike[];
}

export interface CatapultOptions {
  epsilon?: number;
  /** Relative rise that makes a spike (0.1: the loss grew by more than 10%). */
  minRise?: number;
  /** Smallest spike height, relative to the first finite loss of the run (default 1e-6). */
  noiseFloor?: number;
  /**
   * Set where `loss` is each step's batch loss because the whole training set's was not measured at every
   * step: why. The (total-loss) match rate is then not computed, and `unavailable` says this.
   */
  batchLossOnly?: string;
}

export const MATCH_RATE_DEFINITIONS = {
  matchRate: 'total loss: the share of steps whose training-set loss rose, L(w^{t+1}) > L(w^t), at which η > η_crit(batch) (the paper\'s text)',
  ownBatchMatchRate: 'own batch: the share of steps whose own batch\'s loss rose across the step, L_B(w^{t+1}) > L_B(w^t), at which η > η_crit(batch)',
} as const;

export function detectCatapults(records: CatapultInput[], options: CatapultOptions = {}): CatapultReport {
  const epsilon = options.epsilon ?? 1e-8;
  const minRise = options.minRise ?? 0.1;
  const scale = records.find((r) => Number.isFinite(r.loss))?.loss ?? 0;
  const floor = (options.noiseFloor ?? 1e-6) * Math.abs(scale);
  const criticalSteps = records.filter((r) => r.etaCrit !== undefined && r.lr - r.etaCrit > epsilon).map((r) => r.step);
  const critical = new Set(criticalSteps);
  const tracked = records.some((r) => r.etaCrit !== undefined);
  const share = (steps: number[]) => (tracked && steps.length > 0 ? steps.filter((t) => critical.has(t)).length / steps.length : NaN);
  const unavailable: CatapultReport['unavailable'] = {};
  const increases: number[] = [];
  if (options.batchLossOnly === undefined) {
    for (let t = 0; t + 1 < records.length; t++) if (records[t + 1].loss > records[t].loss) increases.push(records[t].step);
  } else if (tracked) unavailable.matchRate = options.batchLossOnly;
  const matchRate = share(increases);
  const ownBatchIncreases = records.filter((r) => r.batchLoss !== undefined && r.batchLossAfter !== undefined && r.batchLossAfter > r.batchLoss).map((r) => r.step);
  const ownBatchMatchRate = share(ownBatchIncreases);
  if (tracked && !records.some((r) => r.batchLossAfter !== undefined)) unavailable.ownBatchMatchRate = 'the batch\'s loss after its step was not measured: track it with tracking.match';

  const spikes: Spike[] = [];
  let t = 0;
  while (t + 1 < records.length) {
    if (!(records[t + 1].loss > records[t].loss)) {
      t++;
      continue;
    }
    // A run of increases from t; its peak is the highest loss before the loss is back at the start level.
    const start = t;
    const startLoss = records[start].loss;
    let peak = start;
    let end: number | null = null;
    for (let u = start + 1; u < records.length; u++) {
      const loss = records[u].loss;
      if (!Number.isFinite(loss)) {
        peak = u;
        break;
      }
      if (loss > records[peak].loss) peak = u;
      if (loss <= startLoss) {
        end = u;
        break;
      }
    }
    const peakLoss = records[peak].loss;
    // A loss that became NaN or infinite is the tallest spike of all: the run diverged inside it.
    if (!Number.isFinite(peakLoss) || (peakLoss > (1 + minRise) * startLoss && peakLoss - startLoss > floor)) {
      const spike: Spike = {
        start: records[start].step,
        peak: records[peak].step,
        end: end === null ? null : records[end].step,
        startLoss,
        peakLoss,
        height: peakLoss - startLoss,
        ratio: peakLoss / startLoss,
        duration: end === null ? null : records[end].step - records[start].step,
      };
      const before = records[start].lambda;
      const after = end === null ? undefined : records[end].lambda;
      if (before !== undefined) spike.lambdaBefore = before;
      if (after !== undefined) spike.lambdaAfter = after;
      if (before !== undefined && after !== undefined) spike.lambdaDrop = before - after;
      spikes.push(spike);
    }
    t = end ?? records.length;
  }
  return { criticalSteps, increases, matchRate, ownBatchIncreases, ownBatchMatchRate, unavailable, spikes };
}

/** Table 2's match rate when increases smaller than a relative threshold are ignored. */
export interface ThresholdedMatch {
  /** An increase counts when (L_{t+1} − L_t)/L_t exceeds this. */
  threshold: number;
  increases: number;
  matched: number;
  matchRate: number;
}

export interface MatchAnalysis {
  /** The match rate with increases below 1e-6, 1e-4 and 1e-2 (relative) ignored. */
  thresholds: ThresholdedMatch[];
  /** η/η_crit(batch) at the steps whose loss rose: quantiles 0, 0.1, 0.25, 0.5, 0.75, 0.9, 1 (null: none). */
  ratioAtIncreases: { quantiles: number[]; values: number[] } | null;
  /** Of the rising steps that were not critical, how many had η/η_crit in [0.8, 1]: the edge of stability. */
  nearCritical: { notCritical: number; within20Percent: number };
}

export const MATCH_THRESHOLDS = [1e-6, 1e-4, 1e-2];
const QUANTILES = [0, 0.1, 0.25, 0.5, 0.75, 0.9, 1];

/** What explains a match rate: how it changes when small increases are ignored, and η/η_crit at the rises. */
export function analyzeMatch(records: CatapultInput[], epsilon = 1e-8): MatchAnalysis {
  const rises: { relative: number; ratio: number | undefined; critical: boolean }[] = [];
  for (let t = 0; t + 1 < records.length; t++) {
    const [a, b] = [records[t], records[t + 1]];
    if (!(b.loss > a.loss)) continue;
    const critical = a.etaCrit !== undefined && a.lr - a.etaCrit > epsilon;
    rises.push({ relative: (b.loss - a.loss) / Math.abs(a.loss), ratio: a.etaCrit !== undefined ? a.lr / a.etaCrit : undefined, critical });
  }
  const thresholds = MATCH_THRESHOLDS.map((threshold) => {
    const counted = rises.filter((r) => r.relative > threshold);
    const matched = counted.filter((r) => r.critical).length;
    return { threshold, increases: counted.length, matched, matchRate: counted.length ? matched / counted.length : NaN };
  });
  const ratios = rises.map((r) => r.ratio).filter((r): r is number => r !== undefined && Number.isFinite(r)).sort((x, y) => x - y);
  const at = (q: number) => ratios[Math.min(ratios.length - 1, Math.floor(q * (ratios.length - 1) + 0.5))];
  const notCritical = rises.filter((r) => !r.critical && r.ratio !== undefined);
  return {
    thresholds,
    ratioAtIncreases: ratios.length ? { quantiles: QUANTILES, values: QUANTILES.map(at) } : null,
    nearCritical: { notCritical: notCritical.length, within20Percent: notCritical.filter((r) => r.ratio! >= 0.8).length },
  };
}

