// The training engine in the browser host: the same config trains in Chromium as in Node.
import { expect, test } from '@playwright/test';
import { requestNodeGpu } from '../src/cli/node-gpu.ts';
import { readDataFile } from '../src/cli/data-files.ts';
import { Trainer, type TrainConfig } from '../src/run/train.ts';

const config: TrainConfig = {
  data: { kind: 'mnist', train: 1000, test: 500 },
  model: { hidden: [32], parameterization: 'standard', outputBias: 1 },
  loss: 'cross-entropy',
  optimizer: { name: 'sgd', momentum: 0.9 },
  schedule: { kind: 'constant', lr: 0.1 },
  batchSize: 100,
  steps: 60,
  evalEvery: 30,
  seed: 7,
};

test('a small MNIST run (data fetched by the page) trains in Chromium and agrees with Node', async ({ page }, info) => {
  await page.goto(`/e2e/kernels.html${info.project.metadata.pageQuery ?? ''}`);
  await page.waitForFunction(() => window.catapultChecks !== undefined);
  const browser = await page.evaluate((c) => window.catapultChecks.train(c), config);

  const gpu = await requestNodeGpu();
  const trainer = await Trainer.create(gpu, config, readDataFile);
  const node = await trainer.run();
  trainer.destroy();
  gpu.destroy();

  expect(browser.status).toBe('completed');
  expect(browser.records).toHaveLength(60);
  const [first, , last] = browser.evals;
  expect(last.trainLoss).toBeLessThan(0.5 * first.trainLoss);
  expect(last.testAccuracy).toBeGreaterThan(0.7);
  // Same data, seeds and batches; the two Dawn builds may compile the WGSL differently, so the losses
  // agree to float32 rounding rather than bit for bit.
  for (const [i, r] of node.records.entries()) {
    expect(Math.abs(browser.records[i].loss - r.loss), `step ${i}`).toBeLessThanOrEqual(1e-4 * Math.max(1, r.loss));
  }
});
