import { describe, expect, it } from 'vitest';
import { analyzeMatch, detectCatapults, type CatapultInput } from '../src/run/catapults.ts';
import { catapultSeries, headlineText, summarize } from '../src/run/summary.ts';
import type { StepRecord, TrainConfig } from '../src/run/train.ts';

// A hand-made run: a catapult at steps 3..8 (η above η_crit, λ drops 10 → 4), small noise at 12,
// a second catapult at 14..17.
const losses = [1, 0.8, 0.6, 0.5, 2, 9, 4, 0.9, 0.45, 0.4, 0.35, 0.3, 0.31, 0.29, 0.28, 1.5, 0.6, 0.2, 0.15];
const lambdas = [10, 10, 10, 10, 9, 7, 5, 4, 4, 4, 4, 4, 4, 4, 4, 3, 2.5, 2.5, 2.5];
const records: CatapultInput[] = losses.map((loss, step) => ({
  step,
  lr: 1,
  loss,
  lambda: lambdas[step],
  etaCrit: [3, 4, 14].includes(step) ? 0.5 : 2,
}));

describe('catapult detector', () => {
  it('finds each spike with its start, peak, height, duration and λ_max drop', () => {
    const { spikes } = detectCatapults(records);
    expect(spikes.map((s) => [s.start, s.peak, s.end])).toEqual([
      [3, 5, 8],
      [14, 15, 17],
    ]);
    expect(spikes[0].height).toBeCloseTo(8.5);
    expect(spikes[0].ratio).toBeCloseTo(18);
    expect(spikes[0].duration).toBe(5);
    expect(spikes[0].lambdaDrop).toBe(6);
    expect(spikes[1].lambdaDrop).toBeCloseTo(1.5);
  });

  it('counts critical steps (η − η_crit > ε) and the share of loss increases they explain', () => {
    const r = detectCatapults(records);
    expect(r.criticalSteps).toEqual([3, 4, 14]);
    expect(r.increases).toEqual([3, 4, 11, 14]);
    expect(r.matchRate).toBe(3 / 4);
  });

  it('ignores rises below the threshold, reports a spike that never came back, and a curve without η_crit', () => {
    expect(detectCatapults(records, { minRise: 20 }).spikes).toEqual([]);
    const diverging = detectCatapults([1, 0.9, 5, 50, NaN].map((loss, step) => ({ step, lr: 1, loss })));
    expect(diverging.spikes).toHaveLength(1);
    expect(diverging.spikes[0].end).toBeNull();
    expect(Number.isNaN(diverging.matchRate)).toBe(true);
  });

  it('does not count float32 rounding after convergence as spikes: a rise must clear 1e-6 of the loss scale', () => {
    // Converged at ~1e-15, where each step's loss is rounding noise of ±100%; then one real catapult.
    const noise = Array.from({ length: 300 }, (_, i) => 1e-15 * (1 + ((i * 7919) % 13) / 6));
    const loss = [1.2, 0.5, 0.1, ...noise, 0.4, 1e-3, ...noise];
    const r = detectCatapults(loss.map((l, step) => ({ step, lr: 1, loss: l })));
    expect(r.spikes.map((s) => s.peak)).toEqual([303]);
    // The floor is relative: the same run scaled by 1e-9 finds the same single spike.
    expect(detectCatapults(loss.map((l, step) => ({ step, lr: 1, loss: l * 1e-9 }))).spikes.map((s) => s.peak)).toEqual([303]);
    expect(detectCatapults(loss.map((l, step) => ({ step, lr: 1, loss: l })), { noiseFloor: 0 }).spikes.length).toBeGreaterThan(20);
  });
});

describe('the series the detector reads', () => {
  const config = { batchSize: 4, tracking: { batch: {}, adagrad: {} } } as unknown as TrainConfig;
  it('for AdaGrad, compares η with s_t·η_crit(batch): its largest effective rate η/s_t with η_crit', () => {
    const steps: StepRecord[] = [
      { step: 0, lr: 0.1, loss: 1, etaCrit: 2, adagradS: 0 },
      { step: 1, lr: 0.1, loss: 1, etaCrit: 2, adagradS: 0.01 },
      { step: 2, lr: 0.1, loss: 1, etaCrit: 2, adagradS: 1 },
    ];
    const series = catapultSeries(config, steps, [], 8).records;
    expect(series.map((r) => r.etaCrit)).toEqual([undefined, 0.02, 2]);
    expect(detectCatapults(series).criticalSteps).toEqual([1]);
    // Other optimizers: η_crit(batch) as it is.
    expect(catapultSeries(config, [{ step: 0, lr: 0.1, loss: 1, etaCrit: 2 }], [], 8).records[0].etaCrit).toBe(2);
  });
});

describe('headline numbers', () => {
  const config = { batchSize: 'full', tracking: {} } as unknown as TrainConfig;
  const records = (losses: number[]): StepRecord[] => losses.map((loss, step) => ({ step, lr: 1, loss }));

  it('name what they count, and print counts as integers', () => {
    const s = summarize(config, { status: 'completed', steps: 3, records: records([1, 0.5, 0.25]), evals: [{ step: 3, trainLoss: 0.2 }] }, 8, ['criticalSteps', 'spikes', 'finalLoss']);
    expect(s.headline).toEqual({ criticalSteps: 0, spikes: 0, finalLoss: 0.2 });
    expect([1, 9, 0.006458123, 21.70956].map(headlineText)).toEqual(['1', '9', '0.006458', '21.71']);
  });

  it('a diverged run: its last finite loss, and the step and value that ended it', () => {
    const evals = [{ step: 0, trainLoss: 1.209 }];
    const over = summarize(config, { status: 'diverged', steps: 4, records: records([1.2, 3, 4e9, 1.2e28]), evals }, 8, ['finalLoss']);
    expect(over.headline).toEqual({ finalLoss: 1.2e28, divergedAt: 3, divergedLoss: 1.2e28 });
    const nan = summarize(config, { status: 'diverged', steps: 3, records: records([1.2, 5e7, NaN]), evals }, 8, ['finalLoss']);
    expect(nan.headline.finalLoss).toBe(5e7);
    expect(nan.headline.divergedAt).toBe(2);
    expect(nan.headline.divergedLoss).toBeNaN();
  });
});

// Exact expectations on hand-made records, so that an off-by-one in the match rate, a changed comparison
// or a changed spike threshold fails a test (each was tried: see the commit that added this block).
describe('the detector, pinned down', () => {
  const run = (losses: number[], etaCrit: (number | undefined)[], lr = 1): CatapultInput[] => losses.map((loss, step) => ({ step, lr, loss, etaCrit: etaCrit[step] }));

  it('counts a rise at step t only when step t itself was critical, not t − 1 or t + 1', () => {
    // Rises at steps 1 and 4 (L_2 > L_1, L_5 > L_4); critical steps 0, 2, 5: none of them a rising step.
    const losses = [1, 0.9, 1.5, 1.2, 1.1, 1.4, 1.3];
    const r = detectCatapults(run(losses, [0.5, 2, 0.5, 2, 2, 0.5, 2]));
    expect(r.increases).toEqual([1, 4]);
    expect(r.criticalSteps).toEqual([0, 2, 5]);
    expect(r.matchRate).toBe(0);
    // Critical exactly at the rising steps: every rise matched.
    expect(detectCatapults(run(losses, [2, 0.5, 2, 2, 0.5, 2, 2])).matchRate).toBe(1);
    // One of two.
    expect(detectCatapults(run(losses, [2, 0.5, 2, 2, 2, 0.5, 2])).matchRate).toBe(0.5);
  });

  it('a step is critical when η − η_crit > 1e-8: equal rates and rounding-level excesses are not', () => {
    const losses = [1, 0.9, 0.8, 0.7, 0.6];
    const r = detectCatapults(run(losses, [1, 1 - 0.9e-8, 1 - 1.1e-8, 1 - 0.5e-8, 1 + 1e-3]));
    expect(r.criticalSteps).toEqual([2]);
    expect(detectCatapults(run(losses, [1, 1, 1, 1, 1]), { epsilon: 0 }).criticalSteps).toEqual([]);
    expect(detectCatapults(run(losses, [1 - 1e-12, 1, 1, 1, 1]), { epsilon: 0 }).criticalSteps).toEqual([0]);
  });

  it('an equal loss is not an increase, a rise by one float32 ulp is', () => {
    const one = 1;
    const up = Math.fround(1 + 2 ** -23);
    const r = detectCatapults(run([one, one, up, up, one], [0.5, 0.5, 0.5, 0.5, 0.5]));
    expect(r.increases).toEqual([1]);
    expect(r.matchRate).toBe(1);
  });

  it('a spike is a rise of more than 10 % above its start: 10.5 % is one, 9.5 % is not', () => {
    const spikes = (rise: number) => detectCatapults(run([1, 1 + rise, 0.9, 0.8], [])).spikes;
    expect(spikes(0.105).map((s) => [s.start, s.peak, s.end])).toEqual([[0, 1, 2]]);
    expect(spikes(0.095)).toEqual([]);
    expect(spikes(0.105)[0].ratio).toBeCloseTo(1.105, 12);
    expect(spikes(0.105)[0].height).toBeCloseTo(0.105, 12);
    // Three rises of 12 %, 25 % and 35 %: all three at the default, only the last at 0.3.
    const losses = [1, 1.12, 0.9, 1.125, 0.8, 1.08, 0.7];
    expect(detectCatapults(run(losses, [])).spikes.map((s) => s.start)).toEqual([0, 2, 4]);
    expect(detectCatapults(run(losses, []), { minRise: 0.3 }).spikes.map((s) => s.start)).toEqual([4]);
  });

  it('the noise floor is 1e-6 of the first finite loss: a rise of 2e-6 is a spike, 0.5e-6 is not', () => {
    const at = (height: number) => detectCatapults(run([1, 1e-5, 1e-5 + height, 1e-6], [])).spikes.map((s) => s.start);
    expect(at(2e-6)).toEqual([1]);
    expect(at(0.5e-6)).toEqual([]);
    // The first finite loss sets the scale, skipping a leading NaN.
    expect(detectCatapults(run([NaN, 1, 1e-5, 1e-5 + 2e-6, 1e-6], [])).spikes.map((s) => s.start)).toEqual([2]);
  });

  it('a spike that peaks at the last step has no end and no λ_max after', () => {
    const r = detectCatapults(run([1, 0.5, 0.4, 0.8], [2, 2, 0.1, 0.1]).map((x) => ({ ...x, lambda: 3 })));
    expect(r.spikes).toEqual([{ start: 2, peak: 3, end: null, startLoss: 0.4, peakLoss: 0.8, height: 0.8 - 0.4, ratio: 2, duration: null, lambdaBefore: 3 }]);
    expect(r.increases).toEqual([2]);
    expect(r.matchRate).toBe(1);
  });
});

describe('the last rise', () => {
  it('is counted: the loss after the last step (the final evaluation) joins the series', () => {
    // Steps 0..3 recorded; the final evaluation at step 4 measured the loss after step 3's update.
    const config = { batchSize: 'full', evalEvery: 1, tracking: { batch: {} } } as unknown as TrainConfig;
    const steps: StepRecord[] = [0.5, 0.4, 0.3, 0.2].map((loss, step) => ({ step, lr: 1, loss, etaCrit: step === 3 ? 0.5 : 2 }));
    const evals = [0.5, 0.4, 0.3, 0.2, 0.9].map((trainLoss, step) => ({ step, trainLoss }));
    const series = catapultSeries(config, steps, evals, 8).records;
    expect(series.map((r) => [r.step, r.loss])).toEqual([[0, 0.5], [1, 0.4], [2, 0.3], [3, 0.2], [4, 0.9]]);
    const r = detectCatapults(series);
    expect(r.increases).toEqual([3]);
    expect(r.matchRate).toBe(1);
    expect(r.criticalSteps).toEqual([3]);
    // Without a final evaluation there is nothing to add.
    expect(catapultSeries(config, steps, [], 8).records).toHaveLength(4);
    // A minibatch run whose evaluations are not every step: its step losses are batch losses, and a full-set
    // loss after the last one is not comparable with them.
    const sgd = { batchSize: 4, evalEvery: 10, tracking: { batch: {} } } as unknown as TrainConfig;
    expect(catapultSeries(sgd, steps, [{ step: 4, trainLoss: 0.9 }], 8).records).toHaveLength(4);
  });
});

describe('the two match rates', () => {
  // Six SGD steps at batch 4 of 8 points, η = 1; steps 1, 3 and 4 critical (η_crit 0.5), the others not (2).
  const etaCrit = [2, 0.5, 2, 0.5, 0.5, 2];
  const batch = [1.0, 0.9, 0.8, 0.85, 0.7, 0.6];
  // The batch after its own step: rises at 1 and 3 (critical) and 5 (not).
  const batchAfter = [0.95, 1.2, 0.7, 0.9, 0.65, 0.61];
  // The whole set before each step, and after the last: rises at 0 (not critical), 1 and 4 (critical), 5 (not).
  const total = [1.0, 1.1, 1.3, 1.2, 1.0, 1.05, 1.07];
  const steps: StepRecord[] = batch.map((loss, step) => ({ step, lr: 1, loss, etaCrit: etaCrit[step], totalLoss: total[step], batchLossAfter: batchAfter[step] }));
  const evals = [{ step: 6, trainLoss: total[6] }];
  const sgd = { batchSize: 4, evalEvery: 0, tracking: { batch: {}, match: {} } } as unknown as TrainConfig;

  it('count the whole set\'s rises (tracking.match) and the own batch\'s, each at the critical steps', () => {
    const series = catapultSeries(sgd, steps, evals, 8);
    expect(series.batchLossOnly).toBeUndefined();
    expect(series.records.map((r) => r.loss)).toEqual(total);
    const r = detectCatapults(series.records, { batchLossOnly: series.batchLossOnly });
    expect(r.criticalSteps).toEqual([1, 3, 4]);
    expect(r.increases).toEqual([0, 1, 4, 5]);
    expect(r.matchRate).toBe(2 / 4);
    expect(r.ownBatchIncreases).toEqual([1, 3, 5]);
    expect(r.ownBatchMatchRate).toBe(2 / 3);
    expect(r.unavailable).toEqual({});
  });

  it('are both in the summary with their definitions and counts', () => {
    const s = summarize(sgd, { status: 'completed', steps: 6, records: steps, evals }, 8, ['matchRate', 'ownBatchMatchRate']);
    expect(s.headline).toEqual({ matchRate: 0.5, ownBatchMatchRate: 2 / 3 });
    expect(s.matchRates!.matchRate).toMatchObject({ increases: 4, matched: 2, rate: 0.5 });
    expect(s.matchRates!.ownBatchMatchRate).toMatchObject({ increases: 3, matched: 2, rate: 2 / 3 });
    expect(s.matchRates!.matchRate.definition).toMatch(/training-set loss rose/);
    expect(s.matchRates!.ownBatchMatchRate.definition).toMatch(/own batch/);
  });

  it('never count the batch loss as the total loss: without the whole set\'s every step, the rate says why', () => {
    const bare = steps.map(({ totalLoss: _t, batchLossAfter: _b, ...r }) => r);
    const cfg = { batchSize: 4, evalEvery: 5, tracking: { batch: {} } } as unknown as TrainConfig;
    const series = catapultSeries(cfg, bare, [], 8);
    expect(series.batchLossOnly).toMatch(/not measured at every step \(the run evaluated it every 5 steps\)/);
    const r = detectCatapults(series.records, { batchLossOnly: series.batchLossOnly });
    expect(r.increases).toEqual([]);
    expect(r.matchRate).toBeNaN();
    expect(r.unavailable.matchRate).toMatch(/tracking\.match/);
    expect(r.unavailable.ownBatchMatchRate).toMatch(/tracking\.match/);
    const s = summarize(cfg, { status: 'completed', steps: 6, records: bare, evals: [] }, 8, ['matchRate']);
    expect(s.headline).toEqual({});
    expect(s.matchRates!.matchRate.unavailable).toMatch(/evaluated it every 5 steps/);
    expect(s.matchAnalysis).toBeUndefined();
    // Spikes are still found in the batch loss.
    expect(series.records.map((x) => x.loss)).toEqual(batch);
  });

  it('coincide for full-batch GD, whose batch is the whole set: the next step\'s loss is the batch\'s after', () => {
    const gd = { batchSize: 'full', evalEvery: 0, tracking: { batch: {} } } as unknown as TrainConfig;
    const full: StepRecord[] = total.slice(0, 6).map((loss, step) => ({ step, lr: 1, loss, etaCrit: etaCrit[step] }));
    const series = catapultSeries(gd, full, evals, 8);
    const r = detectCatapults(series.records, { batchLossOnly: series.batchLossOnly });
    expect(r.increases).toEqual([0, 1, 4, 5]);
    expect(r.ownBatchIncreases).toEqual(r.increases);
    expect(r.ownBatchMatchRate).toBe(r.matchRate);
  });
});

describe('what explains a match rate', () => {
  it('counts increases above each relative threshold, η/η_crit at the rises, and the near-critical ones', () => {
    // Rises at steps 0 (+50 %, critical), 2 (+0.5 %, η/η_crit 0.9), 4 (+1e-5, η/η_crit 0.5), 6 (+1e-7, 0.95).
    const loss = [1, 1.5, 1.4, 1.407, 1.3, 1.300013, 1.2, 1.20000012, 1.1];
    const eta = [0.5, 2, 1 / 0.9, 2, 2, 2, 1 / 0.95, 2, 2];
    const records = loss.map((l, step) => ({ step, lr: 1, loss: l, etaCrit: eta[step] }));
    const m = analyzeMatch(records);
    expect(detectCatapults(records).matchRate).toBe(1 / 4);
    expect(m.thresholds.map((t) => [t.threshold, t.increases, t.matched])).toEqual([[1e-6, 3, 1], [1e-4, 2, 1], [1e-2, 1, 1]]);
    expect(m.thresholds.map((t) => t.matchRate)).toEqual([1 / 3, 1 / 2, 1]);
    // Four ratios 0.5, 0.9, 0.95, 2: the nearest-rank quantiles 0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.
    m.ratioAtIncreases!.values.forEach((v, i) => expect(v).toBeCloseTo([0.5, 0.5, 0.9, 0.95, 0.95, 2, 2][i], 12));
    expect(m.nearCritical).toEqual({ notCritical: 3, within20Percent: 2 });
  });
});
