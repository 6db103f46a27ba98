// The critical rate of adaptive optimizers: λ_max(J·P·Jᵀ) of each step's batch, with P the optimizer's
// diagonal preconditioner, against float64 (P from the optimizer's state and a float64 gradient, J from
// float64 per-example gradients), solved exactly and by power iteration.
import { afterAll, describe, expect, it } from 'vitest';
import { readDataFile } from '../src/cli/data-files.ts';
import { BatchOrder } from '../src/data/splits.ts';
import { symmetricEigen } from '../src/ntk/eigen.ts';
import type { OptimizerConfig } from '../src/optim/optimizer.ts';
import { jacobianRowsRef, mseGradientRef } from '../src/ref/network.ts';
import { preconditionerRef } from '../src/ref/optim.ts';
import { catapultSeries } from '../src/run/summary.ts';
import { Trainer, partSeeds, type TrainConfig } from '../src/run/train.ts';
import { releaseTestGpu, testGpu } from './gpu.ts';

afterAll(releaseTestGpu);

const optimizers: OptimizerConfig[] = [
  { name: 'adagrad', lrDecay: 0.05, initialAccumulatorValue: 0.01 },
  { name: 'rmsprop', alpha: 0.9, centered: true },
  { name: 'adam', betas: [0.8, 0.95], weightDecay: 0.01 },
  { name: 'adam', amsgrad: true },
  { name: 'adadelta', rho: 0.8 },
];

describe('λ_max(J·P·Jᵀ) of an adaptive optimizer', () => {
  for (const optimizer of optimizers) {
    for (const solver of ['exact', 'power'] as const) {
      it(`${JSON.stringify(optimizer)}, ${solver}: matches float64 at every step, the last batch smaller`, async () => {
        const n = 30;
        const b = 7; // 30 = 4·7 + 2
        const config: TrainConfig = {
          data: { kind: 'synthetic', task: 'rank-2', d: 5, train: n, noise: 0.1 },
          model: { hidden: [12] },
          loss: 'mse',
          optimizer,
          schedule: { kind: 'constant', lr: 0.02 },
          batchSize: b,
          steps: 6,
          readbackEvery: 4,
          tracking: { preconditioned: { solver, iterations: 300 } },
          seed: 3,
        };
        const gpu = await testGpu();
        const trainer = await Trainer.create(gpu, config, readDataFile);
        const seen: { params: Float32Array; state: Record<string, Float32Array> }[] = [];
        const run = await trainer.run({ atStep: async () => void seen.push({ params: await trainer.net.readParams(), state: (await trainer.optimizer.exportState()).buffers }) });
        const layout = { layers: trainer.net.layers, layout: trainer.net.layout };
        const { x, y, d } = trainer.data.train;
        const order = new BatchOrder(n, b, partSeeds(config.seed).batches);
        for (const r of run.records) {
          const index = order.next();
          const m = index.length;
          const xb = new Float64Array(m * d);
          const yb = new Float64Array(m);
          index.forEach((i, row) => {
            xb.set(x.subarray(i * d, (i + 1) * d), row * d);
            yb[row] = y[i];
          });
          const { params, state } = seen[r.step];
          const P = preconditionerRef(trainer.optimizer.hyper, state, params, mseGradientRef(layout, params, xb, yb, m), r.step + 1);
          const J = jacobianRowsRef(layout, params, xb, m, 1);
          const K = new Float64Array(m * m);
          for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) K[i * m + j] = J[i].reduce((s, v, q) => s + v * P[q] * J[j][q], 0);
          const lambda = symmetricEigen(K, m).values[0];
          expect(Math.abs(r.lambdaPreconditioned! - lambda) / lambda, `step ${r.step}`).toBeLessThan(solver === 'exact' ? 2e-5 : 1e-3);
          expect(r.etaCritPreconditioned).toBe(m / r.lambdaPreconditioned!);
          if (solver === 'exact') expect(r.lambdaPreconditionedResidual).toBeLessThanOrEqual(1e-6);
          else expect(r.lambdaPreconditionedResidual).toBeGreaterThanOrEqual(0);
        }
        expect(run.records).toHaveLength(6);
        trainer.destroy();
      });
    }
  }

  it('is refused for optimizers without a preconditioner, naming the field', async () => {
    const gpu = await testGpu();
    const config: TrainConfig = {
      data: { kind: 'synthetic', task: 'rank-2', d: 5, train: 8, noise: 0.1 },
      model: { hidden: [4] },
      loss: 'mse',
      optimizer: { name: 'sgd', momentum: 0.9 },
      schedule: { kind: 'constant', lr: 0.1 },
      batchSize: 4,
      steps: 1,
      tracking: { preconditioned: {} },
      seed: 0,
    };
    await expect(Trainer.create(gpu, config, readDataFile)).rejects.toThrow(/tracking\.preconditioned needs an adaptive optimizer/);
  });
});

describe('the detector with an adaptive optimizer', () => {
  it('counts critical steps against η_crit^P where it is tracked, and the s_t bound only where it is not', () => {
    const config = { batchSize: 4, tracking: { batch: {}, adagrad: {}, preconditioned: {} } } as unknown as TrainConfig;
    const series = catapultSeries(config, [
      { step: 0, lr: 0.1, loss: 1, etaCrit: 2, adagradS: 0.01, etaCritPreconditioned: 0.05 },
      { step: 1, lr: 0.1, loss: 1, etaCrit: 2, adagradS: 0.01, etaCritPreconditioned: 0.5 },
      { step: 2, lr: 0.1, loss: 1, etaCrit: 2, adagradS: 0.01 },
    ], [], 8).records;
    expect(series.map((r) => r.etaCrit)).toEqual([0.05, 0.5, 0.02]);
  });
});
