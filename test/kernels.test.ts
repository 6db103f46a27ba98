import { afterAll, describe, expect, it } from 'vitest';
import { releaseTestGpu, testGpu } from './gpu.ts';
import { kernelChecks } from './kernel-checks.ts';

afterAll(releaseTestGpu);

describe('kernels against the float64 reference', () => {
  for (const check of kernelChecks) {
    it(check.name, async () => {
      const result = await check.run(await testGpu());
      expect(result.ok, result.detail).toBe(true);
    });
  }
});
