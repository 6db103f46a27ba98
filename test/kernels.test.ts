import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../src/gpu/gpu.ts';
import { testGpu } from './gpu.ts';
import { kernelChecks } from './kernel-checks.ts';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});
afterAll(() => gpu?.destroy());

describe('kernels against the float64 reference', () => {
  for (const check of kernelChecks) {
    it(check.name, async () => {
      const result = await check.run(gpu);
      expect(result.ok, result.detail).toBe(true);
    });
  }
});
