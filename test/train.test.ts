import { afterAll, describe, expect, it } from 'vitest';
import { readDataFile } from '../src/cli/data-files.ts';
import { classifyRef } from '../src/ref/loss.ts';
import { forwardRef } from '../src/ref/network.ts';
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

  it('evaluates MSE on class targets with an accuracy (±1 by sign) equal to float64\'s, and a regression task without one', async () => {
    const trainer = await Trainer.create(await testGpu(), {
      data: { kind: 'mnist', train: 256, test: 300, classes: [7, 9], targets: 'pm1' },
      model: { hidden: [64], outputBias: 0 },
      loss: 'mse',
      optimizer: { name: 'gd' },
      schedule: { kind: 'constant', lr: 0.5 },
      batchSize: 'full',
      steps: 30,
      evalEvery: 30,
      seed: 1,
    }, readDataFile);
    const r = await trainer.run();
    const test = trainer.data.test!;
    const fwd = forwardRef({ layers: trainer.net.layers, layout: trainer.net.layout }, await trainer.net.readParams(), test.x, test.n);
    const want = classifyRef(fwd.outputs.at(-1)!, test.y, test.n, 1);
    trainer.destroy();
    const [first, last] = [r.evals[0], r.evals.at(-1)!];
    expect(want).toBeGreaterThan(0.6);
    expect(want).toBeLessThan(1);
    // One example may sit at f ≈ 0, where float32 and float64 can take different signs.
    expect(Math.abs(last.testAccuracy! - want)).toBeLessThanOrEqual(1 / test.n);
    expect(first.testAccuracy).not.toBe(last.testAccuracy);
    const regression = await train(rank2({ steps: 2, evalEvery: 1 }));
    expect(regression.evals[0].testLoss).toBeDefined();
    expect(regression.evals[0].testAccuracy).toBeUndefined();
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
    expect(() => validateTrainConfig(rank2({ loss: 'hinge' as never }))).toThrow(/loss must be one of mse, cross-entropy; got "hinge"/);
    expect(() => validateTrainConfig(rank2({ data: { kind: 'synthetic', task: 'rank-9' as never, d: 10, train: 5 } }))).toThrow(/data.task must be one of rank-2/);
    expect(() => validateTrainConfig(rank2({ optimizer: { name: 'adam', betas: [1, 1] } }))).toThrow(/optimizer.betas/);
    expect(() => validateTrainConfig(rank2({ stopAtLoss: 1e-3, evalEvery: 0 }))).toThrow(/stopAtLoss with a minibatch needs evalEvery > 0/);
    await expect(Trainer.create(await testGpu(), rank2({ batchSize: 500 }), readDataFile)).rejects.toThrow(/batchSize 500 is larger than the training set \(128\)/);
    await expect(Trainer.create(await testGpu(), rank2({ loss: 'cross-entropy' }), readDataFile)).rejects.toThrow(/needs one-hot targets with k >= 2/);
  });

  it('a misspelt key at any level is an error naming it and what that level takes', () => {
    const bad = (over: object) => () => validateTrainConfig({ ...rank2(), ...over } as TrainConfig);
    expect(bad({ stepz: 3 })).toThrow(/config: unknown key "stepz" \(did you mean "steps"\?\); config takes data, model, loss/);
    expect(bad({ data: { kind: 'synthetic', task: 'rank-2', d: 10, trian: 128 } })).toThrow(/data \(synthetic\): unknown key "trian" \(did you mean "train"\?\); .* takes kind, task, d, train, val, test, noise/);
    expect(bad({ data: { kind: 'mnist', train: 10, downsampel: 2 } })).toThrow(/data \(mnist\): unknown key "downsampel"/);
    expect(bad({ model: { hiden: [64] } })).toThrow(/model \(fcn\): unknown key "hiden" \(did you mean "hidden"\?\); .* takes kind, parameterization, sigma, frozen, hidden, hiddenBias, outputBias/);
    expect(bad({ model: { kind: 'cnn', channels: 4, channel: 8 } })).toThrow(/model \(cnn\): unknown key "channel"/);
    expect(bad({ model: { kind: 'resnet', channels: 4 } })).toThrow(/model.kind must be one of fcn, cnn, myrtle, wrn, vit, onnx, graph; got "resnet"/);
    expect(bad({ optimizer: { name: 'sgd', betas: [0.9, 0.99] } })).toThrow(/optimizer \(sgd\): unknown key "betas"; .* takes name, weightDecay, momentum, dampening, nesterov/);
    expect(bad({ schedule: { kind: 'constant', rate: 1 } })).toThrow(/schedule \(constant\): unknown key "rate"; .* takes kind, lr/);
    expect(bad({ schedule: { kind: 'decay', schedule: { kind: 'constant', lr: 1, max: 2 }, at: [], factor: 0.5 } })).toThrow(/schedule.schedule \(constant\): unknown key "max"/);
    expect(bad({ tracking: { sett: { examples: 8 } } })).toThrow(/tracking: unknown key "sett" \(did you mean "set"\?\); tracking takes batch, preconditioned, hessian, set, agop, adagrad, spectrum, trace, match, tolerance/);
    // A name far from every key suggests none.
    expect(bad({ colour: 1 })).toThrow(/config: unknown key "colour"; config takes/);
    expect(bad({ tracking: { set: { example: 8 } } })).toThrow(/tracking.set: unknown key "example"/);
    expect(bad({ tracking: { batch: 5 } })).toThrow(/tracking.batch must be an object/);
    expect(bad({ microBatch: 0 })).toThrow(/microBatch must be an integer >= 1, got 0/);
    expect(bad({ microBatch: 2.5 })).toThrow(/microBatch must be an integer >= 1, got 2.5/);
    expect(bad({ microBatch: '8' })).toThrow(/microBatch must be an integer >= 1/);
    expect(bad({ data: { kind: 'mnist', train: 10, downsample: 0 } })).toThrow(/data.downsample must be an integer >= 1, got 0/);
    expect(bad({ data: { kind: 'mnist', train: 10, downsample: 1.5 } })).toThrow(/data.downsample must be an integer >= 1, got 1.5/);
  });

  it('refuses a downsampling larger than the images', async () => {
    const gpu = await testGpu();
    await expect(Trainer.create(gpu, rank2({ data: { kind: 'mnist', train: 10, test: 4, downsample: 29 }, batchSize: 'full' }), readDataFile)).rejects.toThrow(/data.downsample 29 is larger than the 28×28 images/);
  });
});

describe('micro-batches', () => {
  // A CNN on 7×7 digits: 8 examples a step in one pass, or in passes of 3 (3 + 3 + 2) with the gradients summed.
  const cnn = (over: Partial<TrainConfig> = {}): TrainConfig => ({
    data: { kind: 'mnist', train: 16, test: 8, classes: [7, 9], targets: 'pm1', downsample: 4 },
    model: { kind: 'cnn', depth: 3, channels: 5, bias: 1 },
    loss: 'mse',
    optimizer: { name: 'sgd', momentum: 0.9 },
    schedule: { kind: 'constant', lr: 0.05 },
    batchSize: 8,
    steps: 6,
    evalEvery: 3,
    readbackEvery: 3,
    seed: 3,
    ...over,
  });

  it('a step in passes of microBatch examples is the step in one pass, to float32 rounding', async () => {
    const gpu = await testGpu();
    const run = async (config: TrainConfig) => {
      const t = await Trainer.create(gpu, config, readDataFile);
      const r = await t.run();
      const params = await gpu.read(t.net.params);
      t.destroy();
      return { r, params, passRows: t.passRows, microBatched: t.microBatched };
    };
    const whole = await run(cnn());
    const parts = await run(cnn({ microBatch: 3 }));
    expect(whole.microBatched).toBe(false);
    expect(parts.microBatched).toBe(true);
    expect(parts.passRows).toBe(3);
    expect(parts.r.records.map((x) => x.step)).toEqual([0, 1, 2, 3, 4, 5]);
    let worst = 0;
    parts.r.records.forEach((rec, i) => (worst = Math.max(worst, Math.abs(rec.loss - whole.r.records[i].loss) / whole.r.records[i].loss)));
    expect(worst).toBeLessThan(1e-5);
    let num = 0;
    let den = 0;
    whole.params.forEach((w, i) => {
      num += (w - parts.params[i]) ** 2;
      den += w * w;
    });
    expect(Math.sqrt(num / den)).toBeLessThan(1e-5);
    // The losses moved: the comparison is of a run that trained.
    expect(whole.r.records[5].loss).not.toBe(whole.r.records[0].loss);
  }, 120_000);

  it('refuses a microBatch above what one pass holds, and batch tracking across passes', async () => {
    const gpu = await testGpu();
    await expect(Trainer.create(gpu, cnn({ microBatch: 1e9 }), readDataFile)).rejects.toThrow(/microBatch 1000000000 is more than this network fits in one pass on this device \(\d+ examples/);
    await expect(Trainer.create(gpu, cnn({ microBatch: 4, tracking: { batch: {} } }), readDataFile)).rejects.toThrow(/tracking.batch needs each batch of 8 in one pass, but microBatch is 4: use batchSize <= 4/);
  });
});
