// Rates that follow the live η_crit, computed on the GPU each step (shaders/live-rate.ts): the recorded rate
// against the rule applied on the host to the recorded λ_max, a catapult that the rule ends, stale λ between
// tracked steps, the batch's η_crit, and a resumed run that continues bit for bit.
import { afterAll, describe, expect, it } from 'vitest';
import { readDataFile } from '../src/cli/data-files.ts';
import { detectCatapults } from '../src/run/catapults.ts';
import { Trainer, type StepRecord, type TrainConfig } from '../src/run/train.ts';
import type { LiveSchedule } from '../src/optim/schedules.ts';
import { releaseTestGpu, testGpu } from './gpu.ts';

afterAll(releaseTestGpu);

const f32 = Math.fround;

/** The rule of shaders/live-rate.ts on the host, in float32 like the kernel, from each step's λ_max (or the last). */
function expectedRates(s: LiveSchedule, records: StepRecord[], n: (r: StepRecord) => number, lambda: (r: StepRecord) => number | undefined): number[] {
  let last = NaN;
  let mode = 0;
  let held = 0;
  let count = 0;
  const raises = new Map(s.raises ?? []);
  return records.map((r) => {
    last = lambda(r) ?? last;
    const crit = f32(f32(n(r)) / f32(last));
    const raise = raises.get(r.step);
    if (raise !== undefined) {
      mode = 1;
      held = f32(f32(raise) * crit);
      count = 0;
    } else if (mode === 1 && (held <= crit || count >= (s.maxHold ?? 50))) mode = 2;
    if (mode === 1) {
      count++;
      return held;
    }
    if (mode === 2) return Math.min(held, f32(f32(s.after ?? s.factor) * crit));
    return f32(f32(s.factor) * crit);
  });
}

const gd = (schedule: LiveSchedule, steps: number, every = 1): TrainConfig => ({
  data: { kind: 'synthetic', task: 'rank-2', d: 10, train: 64, noise: 0.1 },
  model: { hidden: [64] },
  loss: 'mse',
  optimizer: { name: 'gd' },
  schedule,
  batchSize: 'full',
  steps,
  readbackEvery: 7,
  tracking: { set: { examples: 64, iterations: 20, every } },
  seed: 5,
});

describe('a rate that follows the live η_crit', () => {
  it('is factor·n/λ_max at every step, raised and held through a catapult, then decayed to after·n/λ_max only when lower', async () => {
    const gpu = await testGpu();
    const schedule: LiveSchedule = { kind: 'eta-crit', of: 'set', factor: 0.5, raises: [[10, 3]], after: 0.7, maxHold: 40 };
    const trainer = await Trainer.create(gpu, gd(schedule, 80), readDataFile);
    const run = await trainer.run();
    trainer.destroy();
    expect(run.status).toBe('completed');
    const expected = expectedRates(schedule, run.records, () => 64, (r) => r.lambda);
    run.records.forEach((r, t) => expect(r.lr, `step ${t}`).toBe(expected[t]));
    const r = run.records;
    // Before the raise, half the live critical rate; at the raise three times it, and a catapult: the loss
    // spikes and λ_max drops (measured: 30 → 1.2 by step 17).
    expect(r[3].lr).toBeCloseTo((0.5 * 64) / r[3].lambda!, 5);
    const raised = r[10].lr;
    expect(raised).toBeCloseTo((3 * 64) / r[10].lambda!, 5);
    const spikes = detectCatapults(r.map((x) => ({ step: x.step, lr: x.lr, loss: x.loss, lambda: x.lambda }))).spikes;
    expect(spikes.some((s) => s.start >= 10 && s.start < 16 && s.lambdaDrop! > 0)).toBe(true);
    // After it the rate never rises above the raised one, though λ_max collapsed (0.7·n/λ would be ~40),
    // and it decays to 0.7·n/λ_max once the net has sharpened back enough.
    expect(Math.max(...r.slice(10).map((x) => x.lr))).toBe(raised);
    const decayed = r.findIndex((x, t) => t > 17 && x.lr < raised);
    expect(decayed).toBeGreaterThan(17);
    expect(r[decayed].lr).toBeCloseTo((0.7 * 64) / r[decayed].lambda!, 5);
  });

  it('uses the last tracked λ_max between tracked steps', async () => {
    const gpu = await testGpu();
    const schedule: LiveSchedule = { kind: 'eta-crit', of: 'set', factor: 0.8 };
    const trainer = await Trainer.create(gpu, gd(schedule, 9, 3), readDataFile);
    const run = await trainer.run();
    trainer.destroy();
    expect(run.records.map((r) => r.lambda !== undefined)).toEqual([true, false, false, true, false, false, true, false, false]);
    const expected = expectedRates(schedule, run.records, () => 64, (r) => r.lambda);
    run.records.forEach((r, t) => expect(r.lr, `step ${t}`).toBe(expected[t]));
    expect(run.records[1].lr).toBe(run.records[0].lr);
  });

  it('follows each batch\'s η_crit = b/λ_max(K_batch), the last batch of an epoch smaller', async () => {
    const gpu = await testGpu();
    const schedule: LiveSchedule = { kind: 'eta-crit', of: 'batch', factor: 0.9 };
    const config: TrainConfig = { ...gd(schedule, 8), optimizer: { name: 'sgd' }, batchSize: 20, tracking: { batch: { iterations: 30 } } };
    const trainer = await Trainer.create(gpu, config, readDataFile);
    const run = await trainer.run();
    trainer.destroy();
    const rows = (t: number) => (t % 4 === 3 ? 4 : 20); // 64 = 3·20 + 4
    const expected = expectedRates(schedule, run.records, (r) => rows(r.step), (r) => r.lambdaBatch);
    run.records.forEach((r, t) => expect(r.lr, `step ${t}`).toBe(expected[t]));
    // The rate is 0.9 × the step's η_crit: no step is critical.
    expect(detectCatapults(run.records).criticalSteps).toEqual([]);
  });

  it('resumes from a checkpoint taken while a raised rate is held, bit for bit', async () => {
    const gpu = await testGpu();
    const schedule: LiveSchedule = { kind: 'eta-crit', of: 'set', factor: 0.5, raises: [[4, 3]], after: 0.7 };
    const config = gd(schedule, 12);
    const whole = await Trainer.create(gpu, config, readDataFile);
    const all = await whole.run();
    whole.destroy();
    const first = await Trainer.create(gpu, config, readDataFile);
    await first.run({ shouldStop: () => first.step >= 6 });
    const file = await first.checkpoint();
    first.destroy();
    const resumed = await Trainer.resume(gpu, file, readDataFile);
    const rest = await resumed.run();
    resumed.destroy();
    expect(rest.records.map((r) => [r.step, r.lr, r.loss, r.lambda])).toEqual(all.records.slice(6).map((r) => [r.step, r.lr, r.loss, r.lambda]));
  });

  it('is refused where it cannot work, naming the fields', async () => {
    const gpu = await testGpu();
    const live: LiveSchedule = { kind: 'eta-crit', of: 'set', factor: 1 };
    const bad: [Partial<TrainConfig>, RegExp][] = [
      [{ lrUnit: 'eta-crit' }, /lrUnit must be "absolute"/],
      [{ tracking: { batch: {} } }, /of "set" .* needs tracking\.set/],
      [{ schedule: { ...live, of: 'batch' }, tracking: { set: { examples: 8 } } }, /needs tracking\.batch/],
      [{ schedule: { ...live, of: 'batch' }, tracking: { batch: { solver: 'exact' } } }, /tracking\.batch\.solver "exact"/],
      [{ schedule: { kind: 'decay', schedule: live, at: [3], factor: 0.5 } }, /cannot be decayed/],
      [{ schedule: { ...live, raises: [[5, 2], [3, 2]] } }, /schedule\.raises must be in increasing step order/],
    ];
    for (const [change, message] of bad) await expect(Trainer.create(gpu, { ...gd(live, 2), ...change } as TrainConfig, readDataFile)).rejects.toThrow(message);
  });
});
