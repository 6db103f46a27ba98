// The trace probe, tr K / n of the tracked set's NTK: against float64 at the first step, with k > 1 outputs
// and a set that is not the step's batch; refused where the set's K is never formed.
import { afterAll, describe, expect, it } from 'vitest';
import { readDataFile } from '../src/cli/data-files.ts';
import { ntkGraphRef } from '../src/ref/network.ts';
import { recordsCsv } from '../src/run/export.ts';
import { Trainer, type TrainConfig } from '../src/run/train.ts';
import { releaseTestGpu, testGpu } from './gpu.ts';

afterAll(releaseTestGpu);

const trace = (K: Float64Array, dim: number) => {
  let s = 0;
  for (let i = 0; i < dim; i++) s += K[i * dim + i];
  return s;
};

describe('the NTK trace probe', () => {
  it('records tr K / n of the tracked set, within float32 rounding of float64, every `every` steps', async () => {
    // 37 examples of 3 classes: nk = 111, not a multiple of any tile; minibatches of 10, so the set is not the batch.
    const n = 37;
    const config: TrainConfig = {
      data: { kind: 'mnist', train: n, classes: [0, 1, 2], downsample: 4 },
      model: { hidden: [48, 24] },
      loss: 'mse',
      optimizer: { name: 'sgd' },
      schedule: { kind: 'constant', lr: 0.05 },
      batchSize: 10,
      steps: 4,
      tracking: { set: { examples: n, every: 2 }, trace: { every: 1 } },
      seed: 3,
    };
    const gpu = await testGpu();
    const trainer = await Trainer.create(gpu, config, readDataFile);
    const params0 = await trainer.net.readParams();
    const { records } = await trainer.run();
    const { x, k } = trainer.data.train;
    const K = ntkGraphRef({ layers: trainer.net.layers, layout: trainer.net.layout }, params0, x, n, k);
    const want = trace(K, n * k) / n;
    // A sum of nk positive float32 entries: relative error a few ulps times log(nk).
    expect(Math.abs(records[0].traceK! - want) / want).toBeLessThan(1e-5);
    expect(records.map((r) => r.traceK !== undefined)).toEqual([true, true, true, true]);
    // The set's own quantities keep their schedule: the trace evaluated K on steps the set did not track.
    expect(records.map((r) => r.lambda !== undefined)).toEqual([true, false, true, false]);
    expect(records[1].traceK).not.toBe(records[0].traceK);
    expect(recordsCsv(records).split('\n')[0].split(',')).toContain('traceK');
    trainer.destroy();
  });

  it('is refused where the set is matrix-free, and without a tracked set, naming what to change', async () => {
    const gpu = await testGpu();
    const base: TrainConfig = {
      data: { kind: 'synthetic', task: 'rank-2', d: 8, train: 64 },
      model: { hidden: [16] },
      loss: 'mse',
      optimizer: { name: 'gd' },
      schedule: { kind: 'constant', lr: 0.1 },
      batchSize: 'full',
      steps: 1,
      seed: 0,
    };
    await expect(Trainer.create(gpu, { ...base, tracking: { set: { examples: 64, method: 'matrix-free' }, trace: {} } }, readDataFile)).rejects.toThrow(/tracking.trace reads the diagonal .*tracking.set.method "formed"/);
    await expect(Trainer.create(gpu, { ...base, tracking: { trace: {} } }, readDataFile)).rejects.toThrow(/tracking.trace needs tracking.set/);
    await expect(Trainer.create(gpu, { ...base, tracking: { set: { examples: 64 }, trace: { every: 0 } } }, readDataFile)).rejects.toThrow(/tracking.trace.every must be an integer >= 1/);
  });
});
