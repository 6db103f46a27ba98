// tracking.match, the losses of Table 2's two match rates: the whole training set's loss before each step's
// update and the step's batch after it, against float64 forward passes at w^t and w^{t+1}, for MSE and for
// cross-entropy in passes of fewer rows than the set and the batch (so in chunks summed on the GPU).
import { afterAll, describe, expect, it } from 'vitest';
import { readDataFile } from '../src/cli/data-files.ts';
import { BatchOrder } from '../src/data/splits.ts';
import { forwardRef } from '../src/ref/network.ts';
import { recordsCsv } from '../src/run/export.ts';
import { partSeeds, Trainer, type TrainConfig } from '../src/run/train.ts';
import { releaseTestGpu, testGpu } from './gpu.ts';

afterAll(releaseTestGpu);

/** Mean over rows of the loss of float64 outputs F (b×k) against Y. */
function meanLoss(loss: 'mse' | 'cross-entropy', F: Float64Array, Y: Float32Array, b: number, k: number): number {
  let sum = 0;
  for (let i = 0; i < b; i++) {
    if (loss === 'mse') {
      for (let a = 0; a < k; a++) sum += (F[i * k + a] - Y[i * k + a]) ** 2;
      continue;
    }
    const row = F.subarray(i * k, (i + 1) * k);
    const max = Math.max(...row);
    const logSum = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
    for (let a = 0; a < k; a++) sum -= Y[i * k + a] * (row[a] - logSum);
  }
  return sum / b;
}

const rowsOf = (x: Float32Array, width: number, index: Uint32Array) => {
  const out = new Float32Array(index.length * width);
  index.forEach((r, i) => out.set(x.subarray(r * width, (r + 1) * width), i * width));
  return out;
};

describe('the match probe', () => {
  for (const [loss, microBatch] of [['mse', undefined], ['cross-entropy', 4]] as const) {
    it(`records L(w^t) of the whole set and L_B(w^{t+1}) of the step's batch to float32 rounding (${loss}${microBatch ? `, passes of ${microBatch} rows` : ''})`, async () => {
      // 37 examples of 3 classes (nk = 111, no tile multiple), batches of 10 and the epoch's last of 7.
      const n = 37;
      const config: TrainConfig = {
        data: { kind: 'mnist', train: n, classes: [0, 1, 2], downsample: 4 },
        model: { hidden: [48, 24] },
        loss,
        optimizer: { name: 'sgd' },
        schedule: { kind: 'constant', lr: 0.5 },
        batchSize: 10,
        ...(microBatch ? { microBatch } : {}),
        steps: 1,
        tracking: { match: {} },
        seed: 5,
      };
      const gpu = await testGpu();
      const trainer = await Trainer.create(gpu, config, readDataFile);
      const { x, y, d, k } = trainer.data.train;
      const net = { layers: trainer.net.layers, layout: trainer.net.layout };
      const w0 = await trainer.net.readParams();
      const { records } = await trainer.run();
      const w1 = await trainer.net.readParams();
      const batch = new BatchOrder(n, 10, partSeeds(config.seed).batches).next();
      const total = meanLoss(loss, forwardRef(net, w0, x, n).outputs.at(-1)!, y, n, k);
      const after = meanLoss(loss, forwardRef(net, w1, rowsOf(x, d, batch), 10).outputs.at(-1)!, rowsOf(y, k, batch), 10, k);
      const before = meanLoss(loss, forwardRef(net, w0, rowsOf(x, d, batch), 10).outputs.at(-1)!, rowsOf(y, k, batch), 10, k);
      // Sums of at most n·k float32 terms of the outputs' rounding: relative 1e-5 leaves room for log(nk) ulps.
      expect(Math.abs(records[0].totalLoss! - total) / total).toBeLessThan(1e-5);
      expect(Math.abs(records[0].batchLossAfter! - after) / after).toBeLessThan(1e-5);
      expect(Math.abs(records[0].loss - before) / before).toBeLessThan(1e-5);
      if (loss === 'cross-entropy') {
        // The step's accuracy, summed over its passes (their counts at a 256-byte aligned offset).
        const F = forwardRef(net, w0, rowsOf(x, d, batch), 10).outputs.at(-1)!;
        const Y = rowsOf(y, k, batch);
        const argmax = (v: ArrayLike<number>, i: number) => [0, 1, 2].reduce((m, a) => (v[i * k + a] > v[i * k + m] ? a : m), 0);
        const correct = Array.from({ length: 10 }, (_, i) => argmax(F, i) === argmax(Y, i)).filter(Boolean).length;
        expect(records[0].accuracy).toBe(correct / 10);
      }
      // A step at this rate moves the batch's loss by far more than the tolerance: the probe saw the update.
      expect(Math.abs(after - before) / before).toBeGreaterThan(1e-2);
      expect(recordsCsv(records).split('\n')[0].split(',')).toEqual(expect.arrayContaining(['totalLoss', 'batchLossAfter']));
      trainer.destroy();
    });
  }

  it('keeps its `every` schedule and leaves the training step as it was', async () => {
    const base: TrainConfig = {
      data: { kind: 'synthetic', task: 'rank-2', d: 8, train: 40 },
      model: { hidden: [16] },
      loss: 'mse',
      optimizer: { name: 'sgd' },
      schedule: { kind: 'constant', lr: 0.2 },
      batchSize: 8,
      steps: 5,
      seed: 1,
    };
    const gpu = await testGpu();
    const plain = await Trainer.create(gpu, base, readDataFile);
    const without = (await plain.run()).records;
    plain.destroy();
    const tracked = await Trainer.create(gpu, { ...base, tracking: { match: { every: 2 } } }, readDataFile);
    const withMatch = (await tracked.run()).records;
    tracked.destroy();
    expect(withMatch.map((r) => r.loss)).toEqual(without.map((r) => r.loss));
    expect(withMatch.map((r) => r.totalLoss !== undefined)).toEqual([true, false, true, false, true]);
    expect(withMatch.map((r) => r.batchLossAfter !== undefined)).toEqual([true, false, true, false, true]);
    await expect(Trainer.create(gpu, { ...base, tracking: { match: { every: 0 } } }, readDataFile)).rejects.toThrow(/tracking.match.every must be an integer >= 1/);
  });
});
