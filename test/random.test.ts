import { describe, expect, it } from 'vitest';
import { Rng } from '../src/data/random.ts';

describe('seeded generator', () => {
  it('gives the same stream for the same seed and another for another seed', () => {
    const a = Array.from({ length: 5 }, ((r) => () => r.nextU32())(new Rng(7)));
    const b = Array.from({ length: 5 }, ((r) => () => r.nextU32())(new Rng(7)));
    const c = Array.from({ length: 5 }, ((r) => () => r.nextU32())(new Rng(8)));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('has the moments of its distributions', () => {
    const r = new Rng(1);
    const n = 200_000;
    let su = 0;
    let sn = 0;
    let sn2 = 0;
    for (let i = 0; i < n; i++) {
      su += r.uniform();
      const z = r.normal();
      sn += z;
      sn2 += z * z;
    }
    // Standard errors: uniform mean 0.29/sqrt(n) ≈ 6.5e-4, normal mean 2.2e-3, variance 3.2e-3; 5 sigma.
    expect(Math.abs(su / n - 0.5)).toBeLessThan(5 * 6.5e-4);
    expect(Math.abs(sn / n)).toBeLessThan(5 * 2.2e-3);
    expect(Math.abs(sn2 / n - 1)).toBeLessThan(5 * 3.2e-3);
  });

  it('rejects seeds that are not 32-bit unsigned integers', () => {
    expect(() => new Rng(-1)).toThrow(/seed must be an integer in \[0, 2\^32 - 1\]/);
    expect(() => new Rng(1.5)).toThrow(/seed/);
  });
});
