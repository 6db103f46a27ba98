import { afterAll, describe, expect, it } from 'vitest';
import { readDataFile } from '../src/cli/data-files.ts';
import { BatchOrder } from '../src/data/splits.ts';
import { alignment } from '../src/data/synthetic.ts';
import { symmetricEigen } from '../src/ntk/eigen.ts';
import { backwardRef, forwardRef, mseHessianRef, ntkGraphRef } from '../src/ref/network.ts';
import { detectCatapults } from '../src/run/catapults.ts';
import { Trainer, partSeeds, type TrainConfig } from '../src/run/train.ts';
import { releaseTestGpu, testGpu } from './gpu.ts';

afterAll(releaseTestGpu);

describe('spectral tracking during training', () => {
  it('records λ_max, η_crit, the loss split and AGOP alignment that match float64 at the first step', async () => {
    const n = 24;
    const d = 10;
    const config: TrainConfig = {
      data: { kind: 'synthetic', task: 'rank-2', d, train: n, noise: 0.1 },
      model: { hidden: [64] },
      loss: 'mse',
      optimizer: { name: 'gd' },
      schedule: { kind: 'constant', lr: 0.5 },
      batchSize: 'full',
      steps: 3,
      tracking: { batch: { iterations: 200 }, set: { examples: n, iterations: 200 }, agop: {} },
      seed: 4,
    };
    const gpu = await testGpu();
    const trainer = await Trainer.create(gpu, config, readDataFile);
    const params0 = await trainer.net.readParams();
    const result = await trainer.run();
    const r0 = result.records[0];

    const { x, y } = trainer.data.train;
    const layout = { layers: trainer.net.layers, layout: trainer.net.layout };
    const eig = symmetricEigen(ntkGraphRef(layout, params0, x, n, 1), n);
    const lambda = eig.values[0];
    expect(Math.abs(r0.lambda! - lambda) / lambda).toBeLessThan(1e-4);
    expect(Math.abs(r0.lambdaBatch! - lambda) / lambda).toBeLessThan(1e-4);
    expect(r0.etaCrit).toBeCloseTo(n / r0.lambdaBatch!, 10);

    const fwd = forwardRef(layout, params0, x, n);
    const residual = Array.from(fwd.outputs.at(-1)!, (f, i) => f - y[i]);
    const loss = residual.reduce((s, v) => s + v * v, 0) / n;
    const top = residual.reduce((s, v, i) => s + v * eig.vectors[0][i], 0) ** 2 / n;
    expect(Math.abs(r0.setLoss! - loss) / loss).toBeLessThan(1e-5);
    expect(Math.abs(r0.lossTop! - top) / loss).toBeLessThan(1e-4);
    expect(r0.lossTop! + r0.lossRest!).toBeCloseTo(r0.setLoss!, 6);

    // AGOP: (1/n) Σ ∇x f ∇x fᵀ from the reference's input gradients, against the data's true EGOP.
    const G = new Float64Array(d * d);
    const inputGrad = backwardRef(layout, params0, fwd, new Float64Array(n).fill(1)).inputGrad;
    for (let i = 0; i < n; i++) for (let p = 0; p < d; p++) for (let q = 0; q < d; q++) G[p * d + q] += (inputGrad[i * d + p] * inputGrad[i * d + q]) / n;
    expect(Math.abs(r0.alignment! - alignment(G, trainer.data.egop!))).toBeLessThan(1e-4);
    trainer.destroy();
  });

  it('tracks each batch\'s λ_max formed or matrix-free alike, minibatches and GD, with the input Gram kept', async () => {
    const gpu = await testGpu();
    for (const batchSize of [12, 'full'] as const) {
      const run = async (method: 'formed' | 'matrix-free') => {
        const config: TrainConfig = {
          data: { kind: 'synthetic', task: 'rank-2', d: 10, train: 48, noise: 0.1 },
          model: { hidden: [32] },
          loss: 'mse',
          optimizer: { name: 'sgd' },
          schedule: { kind: 'constant', lr: 0.3 },
          batchSize,
          steps: 6,
          tracking: { batch: { iterations: 150, method } },
          seed: 2,
        };
        const trainer = await Trainer.create(gpu, config, readDataFile);
        const r = await trainer.run();
        trainer.destroy();
        return r.records.map((x) => x.lambdaBatch!);
      };
      const formed = await run('formed');
      const free = await run('matrix-free');
      expect(formed.every((v) => v > 0)).toBe(true);
      formed.forEach((v, t) => expect(Math.abs(free[t] - v) / v, `b=${batchSize} step ${t}`).toBeLessThan(1e-4));
    }
  });

  it('tracks the set matrix-free, its top eigenvalues, λ_min, L≤s and the Hessian, matching float64 at the first step', async () => {
    const n = 20;
    const d = 6;
    const config: TrainConfig = {
      data: { kind: 'synthetic', task: 'rank-2', d, train: n, noise: 0.1 },
      model: { hidden: [16] },
      loss: 'mse',
      optimizer: { name: 'gd' },
      schedule: { kind: 'constant', lr: 0.5 },
      batchSize: 'full',
      steps: 4,
      tracking: { set: { examples: n, iterations: 300, method: 'matrix-free', chunk: 64 }, spectrum: { top: 3, iterations: n, every: 2 }, hessian: { iterations: 300 } },
      seed: 4,
    };
    const gpu = await testGpu();
    const trainer = await Trainer.create(gpu, config, readDataFile);
    const params0 = await trainer.net.readParams();
    const result = await trainer.run();
    const [r0, r1, r2] = result.records;
    const { x, y } = trainer.data.train;
    const layout = { layers: trainer.net.layers, layout: trainer.net.layout };
    const eig = symmetricEigen(ntkGraphRef(layout, params0, x, n, 1), n);
    expect(Math.abs(r0.lambda! - eig.values[0]) / eig.values[0]).toBeLessThan(1e-4);
    // Lanczos run to n steps on an n×n K: every eigenvalue, the smallest included.
    for (let j = 0; j < 3; j++) expect(Math.abs(r0.eigenvalues![j] - eig.values[j]) / eig.values[0]).toBeLessThan(1e-4);
    expect(Math.abs(r0.lambdaMin! - eig.values[n - 1]) / eig.values[0]).toBeLessThan(1e-4);
    expect(r0.condition).toBeCloseTo(r0.eigenvalues![0] / r0.lambdaMin!, 8);
    const fwd = forwardRef(layout, params0, x, n);
    const residual = Array.from(fwd.outputs.at(-1)!, (f, i) => f - y[i]);
    const loss = residual.reduce((s, v) => s + v * v, 0) / n;
    let topS = 0;
    for (let j = 0; j < 3; j++) topS += residual.reduce((s, v, i) => s + v * eig.vectors[j][i], 0) ** 2 / n;
    expect(Math.abs(r0.lossTopS! - topS) / loss).toBeLessThan(1e-4);
    expect(r0.lossTopS! + r0.lossRestS!).toBeCloseTo(r0.setLoss!, 6);
    expect(r0.lossTopS!).toBeGreaterThanOrEqual(r0.lossTop! * (1 - 1e-4));
    // The spectrum's cadence: steps 0 and 2, not 1.
    expect(r1.eigenvalues).toBeUndefined();
    expect(r2.eigenvalues).toHaveLength(3);
    // The Hessian of the full-batch loss (the batch is the set here).
    const P = layout.layout.size;
    const hEig = symmetricEigen(mseHessianRef(layout, params0, x, y, n), P).values;
    const hTop = Math.max(hEig[0], -hEig[P - 1]);
    expect(Math.abs(r0.lambdaHessian! - hTop) / hTop).toBeLessThan(1e-3);
    expect(r0.etaCritHessian).toBeCloseTo(2 / r0.lambdaHessian!, 8);
    trainer.destroy();
  });

  it('solves a formed set\'s spectrum from the step\'s own kernel, matching float64 at every step, with the GD batch\'s forward pass reused', async () => {
    const n = 24;
    const d = 10;
    const gpu = await testGpu();
    // The whole training set (the step's forward pass is the set's) and a part of it (its own forward pass);
    // the spectrum every 2 steps and λ_max every 3, so steps with one of them, both and neither; readbacks
    // every 2 steps and a last partial one. Then the whole set with work that runs forward passes of its own
    // between the step's and the set's: the Hessian's at the batch size, a matrix-free set's in chunks of it.
    const variants: { examples: number; forwards?: number; extra?: TrainConfig['tracking'] }[] = [
      { examples: n, forwards: 1 },
      { examples: 16, forwards: 2 },
      { examples: n, extra: { hessian: { iterations: 5 } } },
      { examples: n, extra: { set: { examples: n, iterations: 300, every: 3, method: 'matrix-free', chunk: 64 } } },
    ];
    for (const { examples, forwards: perStep, extra } of variants) {
      const config: TrainConfig = {
        data: { kind: 'synthetic', task: 'rank-2', d, train: n, noise: 0.1 },
        model: { hidden: [32] },
        loss: 'mse',
        optimizer: { name: 'gd' },
        schedule: { kind: 'constant', lr: 0.4 },
        batchSize: 'full',
        steps: 7,
        readbackEvery: 2,
        tracking: { set: { examples, iterations: 300, every: 3 }, spectrum: { top: 3, iterations: examples, every: 2 }, agop: {}, ...extra },
        seed: 5,
      };
      const trainer = await Trainer.create(gpu, config, readDataFile);
      const params: Float32Array[] = [];
      const forwards: number[] = [];
      let calls = 0;
      const forward = trainer.net.forward.bind(trainer.net);
      trainer.net.forward = (...args) => (calls++, forward(...args));
      const result = await trainer.run({
        atStep: async () => {
          forwards.push(calls);
          params.push(await trainer.net.readParams());
        },
      });
      trainer.destroy();
      expect(result.status).toBe('completed');
      // The set: the first `examples` training examples.
      const x = trainer.data.train.x.subarray(0, examples * d);
      const y = trainer.data.train.y.subarray(0, examples);
      const layout = { layers: trainer.net.layers, layout: trainer.net.layout };
      expect(result.records).toHaveLength(7);
      for (const r of result.records) {
        const t = r.step;
        const at = `${examples} examples, step ${t}`;
        const eig = symmetricEigen(ntkGraphRef(layout, params[t], x, examples, 1), examples);
        const fwd = forwardRef(layout, params[t], x, examples);
        const residual = Array.from(fwd.outputs.at(-1)!, (f, i) => f - y[i]);
        const loss = residual.reduce((s, v) => s + v * v, 0) / examples;
        if (t % 2 === 0) {
          for (let j = 0; j < 3; j++) expect(Math.abs(r.eigenvalues![j] - eig.values[j]) / eig.values[0], at).toBeLessThan(1e-5);
          expect(Math.abs(r.lambdaMin! - eig.values[examples - 1]) / eig.values[0], at).toBeLessThan(1e-5);
          let topS = 0;
          for (let j = 0; j < 3; j++) topS += residual.reduce((s, v, i) => s + v * eig.vectors[j][i], 0) ** 2 / examples;
          expect(Math.abs(r.lossTopS! - topS) / loss, at).toBeLessThan(1e-4);
          expect(Math.abs(r.lossTopS! + r.lossRestS! - loss) / loss, at).toBeLessThan(1e-5);
        } else expect(r.eigenvalues, at).toBeUndefined();
        if (t % 3 === 0) {
          expect(Math.abs(r.lambda! - eig.values[0]) / eig.values[0], at).toBeLessThan(1e-4);
          expect(Math.abs(r.setLoss! - loss) / loss, at).toBeLessThan(1e-5);
        } else expect(r.lambda, at).toBeUndefined();
        // The AGOP on the set (every step), from whichever forward pass the step had.
        const inputGrad = backwardRef(layout, params[t], fwd, new Float64Array(examples).fill(1)).inputGrad;
        const G = new Float64Array(d * d);
        for (let i = 0; i < examples; i++) for (let p = 0; p < d; p++) for (let q = 0; q < d; q++) G[p * d + q] += (inputGrad[i * d + p] * inputGrad[i * d + q]) / examples;
        expect(Math.abs(r.alignment! - alignment(G, trainer.data.egop!)), at).toBeLessThan(1e-4);
        // One forward pass a step where the batch is the set; the part of it takes one more for itself.
        if (perStep) expect(forwards[t + 1] - forwards[t], at).toBe(perStep);
      }
    }
  });

  it('on real data, aligns the AGOP with a reference network\'s AGOP (1 when the reference is the network itself)', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const gpu = await testGpu();
    const config: TrainConfig = {
      data: { kind: 'mnist', train: 40, classes: [7, 9], targets: 'pm1' },
      model: { hidden: [32] },
      loss: 'mse',
      optimizer: { name: 'sgd' },
      schedule: { kind: 'constant', lr: 0.5 },
      batchSize: 10,
      steps: 6,
      seed: 3,
    };
    // The reference: the same network at initialization, saved as a checkpoint.
    const first = await Trainer.create(gpu, config, readDataFile);
    const path = join(mkdtempSync(join(tmpdir(), 'catapult-ref-')), 'reference.safetensors');
    writeFileSync(path, await first.checkpoint());
    first.destroy();
    const trainer = await Trainer.create(gpu, { ...config, tracking: { set: { examples: 40 }, agop: { reference: path } } }, readDataFile);
    const r = (await trainer.run()).records;
    trainer.destroy();
    expect(r[0].alignment).toBeCloseTo(1, 5);
    expect(r[5].alignment).toBeLessThan(1 - 1e-6);
    expect(r[5].alignment).toBeGreaterThan(0);
    await expect(Trainer.create(gpu, { ...config, tracking: { set: { examples: 40 }, agop: { reference: join(tmpdir(), 'missing.safetensors') } } }, readDataFile)).rejects.toThrow(/cannot read data file/);
  });

  it('refuses tracking it cannot do, naming the field', async () => {
    const gpu = await testGpu();
    const base: TrainConfig = {
      data: { kind: 'mnist', train: 50 },
      model: { hidden: [8] },
      loss: 'mse',
      optimizer: { name: 'sgd' },
      schedule: { kind: 'constant', lr: 0.1 },
      batchSize: 10,
      steps: 1,
      seed: 0,
    };
    await expect(Trainer.create(gpu, { ...base, tracking: { set: { examples: 80 } } }, readDataFile)).rejects.toThrow(/tracking.set.examples 80 is more than the 50 training examples/);
    await expect(Trainer.create(gpu, { ...base, tracking: { set: { examples: 10 }, agop: {} } }, readDataFile)).rejects.toThrow(/needs a task with a known true EGOP/);
    await expect(Trainer.create(gpu, { ...base, tracking: { agop: {} } }, readDataFile)).rejects.toThrow(/tracking.agop needs tracking.set/);
    await expect(Trainer.create(gpu, { ...base, tracking: { spectrum: { top: 2 } } }, readDataFile)).rejects.toThrow(/tracking.spectrum needs tracking.set/);
    await expect(Trainer.create(gpu, { ...base, tracking: { set: { examples: 10 }, spectrum: { top: 11 } } }, readDataFile)).rejects.toThrow(/tracking.spectrum.top must be an integer in 1..10, got 11/);
    await expect(Trainer.create(gpu, { ...base, tracking: { set: { examples: 10, method: 'dense' as 'formed' } } }, readDataFile)).rejects.toThrow(/tracking.set.method must be one of auto, formed, matrix-free; got "dense"/);
    await expect(Trainer.create(gpu, { ...base, tracking: { set: { examples: 10, chunk: 100 } } }, readDataFile)).rejects.toThrow(/tracking.set.chunk must be a positive multiple of 64 examples, got 100/);
  });
});

describe('AdaGrad diagnostics (the student report)', () => {
  it('reports s_t = sqrt(min accumulator) over trainable parameters that have had a gradient, η/s_t and the bound s_t·n/λ_max', async () => {
    const gpu = await testGpu();
    const config: TrainConfig = {
      data: { kind: 'synthetic', task: 'rank-2', d: 10, train: 32 },
      model: { hidden: [16], frozen: [0] },
      loss: 'mse',
      optimizer: { name: 'adagrad', initialAccumulatorValue: 0.1 },
      schedule: { kind: 'constant', lr: 0.05 },
      batchSize: 8,
      steps: 3,
      tracking: { set: { examples: 32 }, adagrad: {} },
      seed: 2,
    };
    const run = await (await Trainer.create(gpu, config, readDataFile)).run();
    // Before any update the accumulator holds its initial value everywhere.
    expect(run.records[0].adagradS).toBeCloseTo(Math.sqrt(0.1), 6);
    // At step 2: the accumulator after two updates, over the trainable (second) layer only.
    const twoSteps = await Trainer.create(gpu, { ...config, steps: 2 }, readDataFile);
    await twoSteps.run();
    const { buffers } = await twoSteps.optimizer.exportState();
    // Entries still at the initial value (no gradient yet) are left out.
    let min = Infinity;
    for (const { offset, count } of twoSteps.optimizer.tensors) for (let i = offset; i < offset + count; i++) if (buffers.sum[i] > Math.fround(0.1)) min = Math.min(min, buffers.sum[i]);
    expect(min).toBeGreaterThan(Math.fround(0.1));
    twoSteps.destroy();
    const r2 = run.records[2];
    expect(r2.adagradS).toBe(Math.sqrt(min)); // the same float32 minimum, square-rooted in float64
    expect(r2.adagradRate).toBeCloseTo(0.05 / r2.adagradS!, 10);
    expect(r2.adagradBound).toBeCloseTo((r2.adagradS! * 32) / r2.lambda!, 10);
    await expect(Trainer.create(gpu, { ...config, optimizer: { name: 'sgd' } }, readDataFile)).rejects.toThrow(/tracking.adagrad needs the optimizer "adagrad"/);
  });

  it('leaves out weights that never had a gradient: on MNIST the border pixels are always 0, yet s_t > 0', async () => {
    const gpu = await testGpu();
    const config: TrainConfig = {
      data: { kind: 'mnist', train: 16, classes: [7, 9], targets: 'pm1' },
      model: { hidden: [8], hiddenBias: 0, outputBias: 0 },
      loss: 'mse',
      optimizer: { name: 'adagrad' },
      schedule: { kind: 'constant', lr: 0.01 },
      batchSize: 'full',
      steps: 2,
      tracking: { adagrad: {} },
      seed: 0,
    };
    const trainer = await Trainer.create(gpu, { ...config, steps: 1 }, readDataFile);
    await trainer.run();
    const { buffers } = await trainer.optimizer.exportState();
    let zeros = 0;
    let min = Infinity;
    for (const { offset, count } of trainer.optimizer.tensors) {
      for (let i = offset; i < offset + count; i++) {
        if (buffers.sum[i] === 0) zeros++;
        else min = Math.min(min, buffers.sum[i]);
      }
    }
    trainer.destroy();
    expect(zeros).toBeGreaterThan(0); // the weights of always-zero pixels
    expect(min).toBeLessThan(Infinity);
    const run = await (await Trainer.create(gpu, config, readDataFile)).run();
    expect(run.records[0].adagradS).toBe(0); // nothing accumulated before the first step
    expect(run.records[1].adagradS).toBe(Math.sqrt(min));
  });
});

describe('the single-example experiment (paper App. F.3)', () => {
  it('with SGD at batch size 1 and a rate between the scaled point\'s η_crit and the others\', the loss spikes only when that point is drawn while critical', async () => {
    const n = 20;
    const scaled = 7;
    const base: TrainConfig = {
      data: { kind: 'sphere', n, d: 20, scaledIndex: scaled, scale: 2 },
      model: { hidden: [256], frozen: [1], hiddenBias: 0 }, // no biases: K(x, x) grows as ‖x‖², as in the paper
      loss: 'mse',
      optimizer: { name: 'sgd' },
      schedule: { kind: 'constant', lr: 1 },
      batchSize: 1,
      steps: 0,
      evalEvery: 1,
      tracking: { batch: { iterations: 1 } }, // b = 1: K is 1×1, one iteration is exact
      seed: 11,
    };
    const gpu = await testGpu();
    // Each example's η_crit at initialization, from one step of tracking per example.
    const probe = await Trainer.create(gpu, { ...base, steps: n, batchSize: 1, schedule: { kind: 'constant', lr: 0 } }, readDataFile);
    const probeRun = await probe.run();
    probe.destroy();
    const order = new BatchOrder(n, 1, partSeeds(base.seed).batches);
    const etaOf = new Map<number, number>();
    for (const r of probeRun.records) etaOf.set(order.next()[0], r.etaCrit!);
    const others = Math.min(...[...etaOf].filter(([i]) => i !== scaled).map(([, e]) => e));
    const own = etaOf.get(scaled)!;
    expect(own).toBeLessThan(others / 2); // the scaled point's kernel entry is about 4× larger
    const lr = Math.sqrt(own * others);

    const trainer = await Trainer.create(gpu, { ...base, steps: 3 * n, schedule: { kind: 'constant', lr } }, readDataFile);
    const run = await trainer.run();
    trainer.destroy();
    const drawn = new BatchOrder(n, 1, partSeeds(base.seed).batches);
    const scaledSteps = run.records.map((r) => (drawn.next()[0] === scaled ? r.step : -1)).filter((t) => t >= 0);
    expect(scaledSteps).toHaveLength(3);
    // Only the scaled point is ever critical (η > η_crit of its batch), and it is at its first draw.
    const critical = detectCatapults(run.records).criticalSteps;
    expect(critical.every((t) => scaledSteps.includes(t))).toBe(true);
    expect(critical[0]).toBe(scaledSteps[0]);
    // The full training loss jumps by more than 10% only at critical draws, and does at the first.
    const full = run.evals.map((e, step) => ({ step, lr, loss: e.trainLoss }));
    const jumps = full.slice(0, -1).filter((e, t) => full[t + 1].loss > 1.1 * e.loss).map((e) => e.step);
    expect(jumps.every((t) => critical.includes(t))).toBe(true);
    expect(jumps[0]).toBe(scaledSteps[0]);
    // Each catapult lowers the point's kernel entry: its η_crit rises from draw to draw (measured here
    // 13.0 → 17.9 → 21.1 against lr 20.8, so the third draw is no longer critical and the loss just falls).
    const etas = scaledSteps.map((t) => run.records[t].etaCrit!);
    expect(etas[1]).toBeGreaterThan(etas[0]);
    expect(etas[2]).toBeGreaterThan(etas[1]);
  });
});
