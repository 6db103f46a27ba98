// Networks with max pooling (a layer of its own: the argmax saved in the forward pass routes the backward pass
// and the forward-mode product), against float64: forward, gradients, J u, central differences, the adjoint
// identity, Hessian-vector products (linear once the argmax is held), and the NTK by both methods.
import { afterAll, describe, expect, it } from 'vitest';
import { modelGraph } from '../src/nn/models.ts';
import { releaseTestGpu } from './gpu.ts';
import { checkAgainstFloat64, checkHessianVector, checkNtkMethods, type NetCase } from './net-checks.ts';

afterAll(releaseTestGpu);

const CASES: NetCase[] = [
  {
    name: 'conv, ReLU, 2×2 max pool, conv, overlapping 3×3 max pool with stride 2 and padding 1, linear',
    model: { kind: 'graph', parameterization: 'standard', layers: [{ type: 'conv2d', out: 3, kernel: 3, padding: 1, bias: 1 }, { type: 'relu' }, { type: 'maxpool', kernel: 2 }, { type: 'conv2d', out: 2, kernel: 3, padding: 1, bias: 1 }, { type: 'maxpool', kernel: 3, stride: 2, padding: 1 }, { type: 'flatten' }, { type: 'linear', bias: 1 }] },
    input: [2, 8, 7],
    k: 2,
    b: 3,
    randomParams: true,
  },
];

describe('max pooling in networks, against float64', () => {
  it(`${CASES[0].name}: forward, gradients, jvp, central differences and the adjoint identity`, () => checkAgainstFloat64(CASES[0]));
  it('Hessian-vector products through max pooling match the float64 Hessian', () => checkHessianVector(CASES[0]));
  it('the NTK by Jacobian contraction and matrix-free equals float64 J·Jᵀ', () => checkNtkMethods({ ...CASES[0], chunk: 9 }));
  it('a graph maxpool takes kernel, stride (the kernel by default) and padding up to half the window', () => {
    const shape = (layer: Record<string, unknown>) => modelGraph({ kind: 'graph', layers: [layer as never, { type: 'flatten' }, { type: 'linear' }] }, [1, 7, 7], 1).layers[0].outShape;
    expect(shape({ type: 'maxpool', kernel: 2 })).toEqual([1, 3, 3]);
    expect(shape({ type: 'maxpool', kernel: 3, stride: 2, padding: 1 })).toEqual([1, 4, 4]);
    expect(() => shape({ type: 'maxpool', kernel: 2, padding: 2 })).toThrow(/padding 2 is more than half the window 2/);
    expect(() => shape({ type: 'maxpool', kernel: 2, dilation: 2 })).toThrow(/unknown field "dilation"; a maxpool layer takes kernel, stride, padding/);
  });
});
