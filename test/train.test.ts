import { afterAll, describe, expect, it } from 'vitest';
import { readDataFile } from '../src/cli/data-files.ts';
import { Trainer, validateTrainConfig, type TrainConfig } from '../src/run/train.ts';
import { releaseTestGpu, testGpu } from './gpu.ts';

afterAll(releaseTestGpu);

const rank2 = (over: Partial<TrainConfig> = {}): TrainConfig => ({
  data: { kind: 'synthetic', task: 'rank-2', d: 10, train: 128, test: 64, noise: 0.1 },
  model: { hidden: [64] },
  loss: 'mse',
  optimizer: { name: 'sgd' },
  schedule: { kind: 'constant', lr: 0.5 },
  batchSize: 32,
  steps: 150,
  evalEvery: 50,
  seed: 1,
  ...over,
});

async function train(config: TrainConfig, callbacks = {}) {
  const trainer = await Trainer.create(await testGpu(), config, readDataFile);
  const result = await trainer.run(callbacks);
  trainer.destroy();
  return result;
}

describe('training loop', () => {
  it('lowers the loss of a small net on the rank-2 task at a small learning rate', async () => {
    const r = await train(rank2());
    expect(r.status).toBe('completed');
    expect(r.steps).toBe(150);
    expect(r.records).toHaveLength(150);
    expect(r.evals.map((e) => e.step)).toEqual([0, 50, 100, 150]);
    const first = r.evals[0];
    const last = r.evals[r.evals.length - 1];
    expect(last.trainLoss).toBeLessThan(0.5 * first.trainLoss);
    expect(last.testLoss).toBeLessThan(first.testLoss!);
  });

  it('ends a run whose loss explodes as diverged, keeping every metric read back', async () => {
    const r = await train(rank2({ batchSize: 'full', schedule: { kind: 'constant', lr: 1e4 }, steps: 500, readbackEvery: 10, evalEvery: 0 }));
    expect(r.status).toBe('diverged');
    expect(r.steps).toBeLessThan(500);
    expect(r.records).toHaveLength(r.steps);
    const bad = r.records.findIndex((x) => !Number.isFinite(x.loss) || x.loss > 1e8);
    expect(bad).toBeGreaterThan(0); // the loss before it was finite and kept
    expect(r.message).toMatch(new RegExp(`at step ${bad} \\(lr 10000\\)`));
  });

  it('gives bit-identical losses for the same config and seed, and other losses for another seed', async () => {
    const config = rank2({ steps: 40, evalEvery: 20, optimizer: { name: 'adam' }, schedule: { kind: 'cyclic', base: 1e-3, max: 1e-2, period: 10 } });
    const a = await train(config);
    const b = await train(config);
    const c = await train({ ...config, seed: 2 });
    expect(b.records).toEqual(a.records);
    expect(b.evals).toEqual(a.evals);
    expect(c.records.map((r) => r.loss)).not.toEqual(a.records.map((r) => r.loss));
  });

  it('hold() pauses before a step with every step so far read back, and a held run gives the same numbers', async () => {
    const config = rank2({ steps: 30, evalEvery: 10, readbackEvery: 25 });
    const plain = await train(config);
    let seen = 0;
    const seenAtHolds: number[] = [];
    let holds = 0;
    const held = await train(config, {
      onMetrics: (records: unknown[]) => (seen += records.length),
      // The k-th call comes before step k − 1: hold before steps 6 and 7.
      hold: () => (++holds === 7 || holds === 8 ? new Promise<void>((resume) => setTimeout(resume, 20)) : undefined),
      // atStep comes after the hold: note what had been read back by then.
      atStep: async (updates: number) => void (updates === 6 || updates === 7 ? seenAtHolds.push(seen) : 0),
    });
    // Every step before the hold was read back, though a readback normally waits for 25.
    expect(seenAtHolds).toEqual([6, 7]);
    expect(held.records).toEqual(plain.records);
    expect(held.evals).toEqual(plain.evals);
  });

  it('learns bundled MNIST digits with cross-entropy (PyTorch parameterization, as the student report)', async () => {
    const r = await train({
      data: { kind: 'mnist', train: 2000, test: 1000 },
      model: { hidden: [64], outputBias: 1, parameterization: 'standard' },
      loss: 'cross-entropy',
      optimizer: { name: 'sgd', momentum: 0.9 },
      schedule: { kind: 'constant', lr: 0.1 },
      batchSize: 100,
      steps: 100,
      evalEvery: 0,
      seed: 3,
    });
    expect(r.status).toBe('completed');
    const [e] = r.evals;
    expect(e.testAccuracy).toBeGreaterThan(0.85); // chance is 0.1; 0.90 measured on SwiftShader
    expect(r.records[0].accuracy).toBeLessThan(0.3);
  });

  it('stops at the loss threshold and when asked to', async () => {
    const converged = await train(rank2({ batchSize: 'full', stopAtLoss: 1e6, steps: 100, readbackEvery: 5, evalEvery: 0 }));
    expect(converged.status).toBe('converged');
    expect(converged.steps).toBe(5);
    let calls = 0;
    const stopped = await train(rank2({ steps: 100, evalEvery: 0, readbackEvery: 4 }), { shouldStop: () => ++calls > 10 });
    expect(stopped.status).toBe('stopped');
    expect(stopped.steps).toBe(10);
    expect(stopped.records).toHaveLength(10);
  });

  it('names the field and what is allowed for a bad config', async () => {
    expect(() => validateTrainConfig(rank2({ batchSize: 0 }))).toThrow(/batchSize must be an integer >= 1, got 0/);
    expect(() => validateTrainConfig(rank2({ loss: 'hinge' as never }))).toThrow(/loss must be "mse" or "cross-entropy"/);
    expect(() => validateTrainConfig(rank2({ data: { kind: 'synthetic', task: 'rank-9' as never, d: 10, train: 5 } }))).toThrow(/data.task must be one of rank-2/);
    expect(() => validateTrainConfig(rank2({ optimizer: { name: 'adam', betas: [1, 1] } }))).toThrow(/optimizer.betas/);
    expect(() => validateTrainConfig(rank2({ stopAtLoss: 1e-3, evalEvery: 0 }))).toThrow(/stopAtLoss with a minibatch needs evalEvery > 0/);
    await expect(Trainer.create(await testGpu(), rank2({ batchSize: 500 }), readDataFile)).rejects.toThrow(/batchSize 500 is larger than the training set \(128\)/);
    await expect(Trainer.create(await testGpu(), rank2({ loss: 'cross-entropy' }), readDataFile)).rejects.toThrow(/needs one-hot targets with k >= 2/);
  });
});
