// Networks with the elementwise nonlinearities that imported models bring (sigmoid, tanh, exact GELU): the
// float64 checks every network kind gets (test/net-checks.ts), the NTK by both methods, and the refusal of
// Hessian-vector products through a layer with no R-operator.
import { afterAll, describe, expect, it } from 'vitest';
import { modelGraph } from '../src/nn/models.ts';
import { erfRef } from '../src/ref/pointwise.ts';
import { releaseTestGpu, testGpu } from './gpu.ts';
import { checkAgainstFloat64, checkNtkMethods, type NetCase } from './net-checks.ts';
import { testNet } from './nets.ts';

afterAll(releaseTestGpu);

const CASES: NetCase[] = [
  {
    name: 'conv, sigmoid, conv, tanh, linear',
    model: { kind: 'graph', parameterization: 'standard', layers: [{ type: 'conv2d', out: 3, kernel: 3, padding: 1, bias: 1 }, { type: 'sigmoid' }, { type: 'conv2d', out: 2, kernel: 2, stride: 2, bias: 1 }, { type: 'tanh' }, { type: 'flatten' }, { type: 'linear', bias: 1 }] },
    input: [2, 5, 5],
    k: 3,
    b: 3,
    randomParams: true,
  },
  {
    name: 'linear, exact GELU, linear, exact GELU in a residual block, linear',
    model: { kind: 'graph', layers: [{ type: 'linear', out: 7, bias: 0.5 }, { type: 'gelu', approximate: 'none' }, { type: 'residual', main: [{ type: 'linear', out: 7 }, { type: 'gelu', approximate: 'none' }] }, { type: 'linear' }] },
    input: [6, 1, 1],
    k: 2,
    b: 5,
    randomParams: true,
  },
];

describe('elementwise nonlinearities in networks, against float64', () => {
  for (const c of CASES) {
    it(`${c.name}: forward, gradients, jvp, central differences and the adjoint identity`, () => checkAgainstFloat64(c));
  }

  it('the NTK of a net with sigmoid and tanh by Jacobian contraction and matrix-free equals float64 J·Jᵀ', () => checkNtkMethods({ ...CASES[0], chunk: 7 }));

  it('refuses Hessian-vector products through them, naming the layer', async () => {
    const { net } = testNet(await testGpu(), CASES[0].model, CASES[0].input, CASES[0].k, 1);
    expect(net.hessianUnsupported).toMatch(/pointwise layer "1" has no R-operator/);
    net.destroy();
  });

  it('a graph gelu takes approximate "tanh" (its default) or "none", and nothing else', () => {
    const layers = (approximate?: string) => modelGraph({ kind: 'graph', layers: [{ type: 'linear', out: 3 }, { type: 'gelu', ...(approximate ? { approximate } : {}) } as never, { type: 'linear' }] }, [4, 1, 1], 1).layers.map((l) => l.kind);
    expect(layers()).toEqual(['linear', 'gelu', 'linear']);
    expect(layers('none')).toEqual(['linear', 'pointwise', 'linear']);
    expect(() => layers('erf')).toThrow(/approximate must be "tanh" \(the default\) or "none"/);
  });

  it('the float64 erf agrees with known values to 1e-15 on both sides of its switch at 2', () => {
    // erf(0.5), erf(1), erf(1.9), erf(2), erf(2.1), erf(3), erf(3.5), erf(5) to 17 digits (DLMF tables / mpmath).
    const known: [number, number][] = [[0.5, 0.5204998778130465], [1, 0.8427007929497149], [1.9, 0.9927904292352575], [2, 0.9953222650189527], [2.1, 0.997020533343667], [3, 0.9999779095030014], [3.5, 0.9999992569016276], [5, 0.9999999999984626]];
    for (const [x, want] of known) {
      expect(Math.abs(erfRef(x) - want)).toBeLessThan(1e-15);
      expect(erfRef(-x)).toBe(-erfRef(x));
    }
  });
});
