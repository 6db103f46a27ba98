// The paper's catapult bookkeeping over a run's per-step records (host side, after readback):
//   critical steps: η_t − η_crit(batch_t) > ε (the paper's count, ε = 1e-8);
//   loss increases: ΔL_t = L_{t+1} − L_t > 0; the match rate is the share of increases at steps that were
//     critical (Table 2);
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
  /** Steps t with L_{t+1} > L_t. */
  increases: number[];
  /** Share of increases at critical steps (NaN when none increased or η_crit is not tracked). */
  matchRate: number;
  spikes: Spike[];
}

export interface CatapultOptions {
  epsilon?: number;
  /** Relative rise that makes a spike (0.1: the loss grew by more than 10%). */
  minRise?: number;
  /** Smallest spike height, relative to the first finite loss of the run (default 1e-6). */
  noiseFloor?: number;
}

export function detectCatapults(records: CatapultInput[], options: CatapultOptions = {}): CatapultReport {
  const epsilon = options.epsilon ?? 1e-8;
  const minRise = options.minRise ?? 0.1;
  const scale = records.find((r) => Number.isFinite(r.loss))?.loss ?? 0;
  const floor = (options.noiseFloor ?? 1e-6) * Math.abs(scale);
  const criticalSteps = records.filter((r) => r.etaCrit !== undefined && r.lr - r.etaCrit > epsilon).map((r) => r.step);
  const critical = new Set(criticalSteps);
  const increases: number[] = [];
  for (let t = 0; t + 1 < records.length; t++) if (records[t + 1].loss > records[t].loss) increases.push(records[t].step);
  const tracked = records.some((r) => r.etaCrit !== undefined);
  const matched = increases.filter((t) => critical.has(t)).length;
  const matchRate = tracked && increases.length > 0 ? matched / increases.length : NaN;

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
  return { criticalSteps, increases, matchRate, spikes };
}
