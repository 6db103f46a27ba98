// Residual networks against the float64 reference: the join y = main(x) + shortcut(x) with an identity and a
// 1×1-convolution shortcut, a block reading the network's input (two consumers of X, summed into ∂/∂X), a block
// inside a block, a node with three consumers, and the Wide ResNet; forward, gradients, J u, central differences, the adjoint identity,
// Hessian-vector products, and the NTK by Jacobian contraction and matrix-free against the float64 J·Jᵀ.
import { afterAll, describe, expect, it } from 'vitest';
import { modelGraph, modelLayers, type ModelConfig } from '../src/nn/models.ts';
import type { Shape } from '../src/nn/network.ts';
import { releaseTestGpu } from './gpu.ts';
import { checkAgainstFloat64, checkHessianVector, checkNtkMethods, type NetCase } from './net-checks.ts';

afterAll(releaseTestGpu);

const conv = (out: number, kernel: number, stride = 1, padding = kernel === 3 ? 1 : 0, bias = 0) => ({ type: 'conv2d' as const, out, kernel, stride, padding, bias });

const CASES: NetCase[] = [
  {
    name: 'identity and 1×1-convolution shortcuts (stride 2), standalone ReLU between the blocks, biases',
    model: {
      kind: 'graph',
      layers: [
        conv(3, 3, 1, 1, 0.5),
        { type: 'relu' },
        { type: 'residual', main: [conv(3, 3), { type: 'relu' }, conv(3, 3, 1, 1, 0.3)] },
        { type: 'relu' },
        { type: 'residual', main: [conv(4, 3, 2)], shortcut: [conv(4, 1, 2)] },
        { type: 'globalavgpool' },
        { type: 'linear', bias: 0.2 },
      ],
    },
    input: [2, 6, 5],
    k: 2,
    b: 3,
  },
  {
    name: 'a block on the network\'s input (X read twice), a block inside a block, flatten, linear',
    model: {
      kind: 'graph',
      layers: [
        { type: 'residual', main: [conv(2, 3), { type: 'relu' }, { type: 'residual', main: [conv(2, 3)] }] },
        { type: 'flatten' },
        { type: 'linear', bias: 0.5 },
      ],
    },
    input: [2, 4, 4],
    k: 1,
    b: 2,
  },
  {
    // Node 0 feeds the inner block's convolution, the inner join and the outer join: its dy is a sum of three.
    name: 'a block nested first inside a block: one node with three consumers',
    model: {
      kind: 'graph',
      layers: [
        conv(2, 3, 1, 1, 0.2),
        { type: 'residual', main: [{ type: 'residual', main: [conv(2, 3)] }, { type: 'relu' }, conv(2, 3)] },
        { type: 'flatten' },
        { type: 'linear', bias: 0.5 },
      ],
    },
    input: [1, 5, 3],
    k: 2,
    b: 3,
  },
  {
    name: 'the wrn model (depth 10, widen 1: 16/32/64 channels), standard parameterization, stem frozen',
    model: { kind: 'wrn', depth: 10, widen: 1, parameterization: 'standard', frozen: [0] },
    input: [3, 4, 4],
    k: 2,
    b: 2,
  },
];

describe('residual networks on the GPU against float64', () => {
  for (const c of CASES) {
    it(`${c.name}: forward, gradients, jvp, central differences and the adjoint identity`, () => checkAgainstFloat64(c));
  }

  it('Hessian-vector products through the residual join match the float64 Hessian', () => checkHessianVector({ ...CASES[1], name: 'block on the input' }));
});

describe('the NTK of a residual net', () => {
  it('by Jacobian contraction and matrix-free equals the float64 J·Jᵀ of a tiny WRN, and power iteration finds λ_max', () =>
    checkNtkMethods({ name: 'tiny WRN', model: { kind: 'wrn', depth: 10, widen: 1, bias: 0.5 }, input: [3, 4, 4], k: 2, b: 4, chunk: 700 }));
});

describe('residual model configs', () => {
  it('names the WRN\'s tensors as the reference implementation does', () => {
    const names = modelLayers({ kind: 'wrn', depth: 10, widen: 2 }, [3, 8, 8], 1)
      .flatMap((l) => ('params' in l ? l.params.map((p) => `${p.name} [${p.shape}]`) : []));
    expect(names).toEqual([
      'conv1.weight [16,3,3,3]',
      'block1.layer.0.conv1.weight [32,16,3,3]',
      'block1.layer.0.conv2.weight [32,32,3,3]',
      'block1.layer.0.convShortcut.weight [32,16,1,1]',
      'block2.layer.0.conv1.weight [64,32,3,3]',
      'block2.layer.0.conv2.weight [64,64,3,3]',
      'block2.layer.0.convShortcut.weight [64,32,1,1]',
      'block3.layer.0.conv1.weight [128,64,3,3]',
      'block3.layer.0.conv2.weight [128,128,3,3]',
      'block3.layer.0.convShortcut.weight [128,64,1,1]',
      'fc.weight [1,128]',
    ]);
    // Each join reads its main branch's last layer and its shortcut (or the block's input).
    const g = modelGraph({ kind: 'graph', layers: [conv(2, 3), { type: 'residual', main: [{ type: 'relu' }, conv(2, 3)] }, { type: 'flatten' }, { type: 'linear' }] }, [1, 3, 3], 1);
    expect(g.layers.map((l) => l.kind)).toEqual(['conv2d', 'relu', 'conv2d', 'add', 'flatten', 'linear']);
    expect(g.inputs).toEqual([[-1], [0], [1], [2, 0], [3], [4]]);
    expect(g.layers[2].name).toBe('1.main.1');
  });

  it('refuses what it cannot build, naming the module and why', () => {
    const build = (layers: unknown[], input: Shape = [2, 6, 6]) => () => modelLayers({ kind: 'graph', layers } as ModelConfig, input, 1);
    expect(build([{ type: 'batchnorm' }])).toThrow(/model.layers\[0\]: batch normalization in training mode couples the examples of a batch, so the per-example NTK .* is not defined for it/);
    expect(build([{ type: 'residual', main: [{ type: 'BatchNorm2d' }] }])).toThrow(/model.layers\[0\].main\[0\]: batch normalization/);
    expect(build([{ type: 'residual', main: [conv(3, 3)] }, { type: 'flatten' }, { type: 'linear' }])).toThrow(/model.layers\[0\] \(residual\): its main branch gives 3×6×6, its shortcut 2×6×6; give the shortcut a 1×1 convolution/);
    expect(build([{ type: 'residual', main: [] }])).toThrow(/model.layers\[0\].main must be a non-empty list of layers/);
    expect(build([{ type: 'residual', main: [conv(2, 3)], skip: [] }])).toThrow(/model.layers\[0\] \(residual\): unknown field "skip"; a residual layer takes main, shortcut/);
    expect(build([{ type: 'residual', main: [{ type: 'linear' }] }, { type: 'linear' }], [4, 1, 1])).toThrow(/model.layers\[0\].main\[0\].out must be an integer >= 1/);
    expect(() => modelLayers({ kind: 'wrn', depth: 12, widen: 1 }, [3, 8, 8], 1)).toThrow(/model.depth of a wrn must be 6N \+ 4 \(10, 16, 22, 28, …\), got 12/);
    expect(() => modelLayers({ kind: 'wrn', depth: 10, widen: 0 }, [3, 8, 8], 1)).toThrow(/model.widen must be an integer >= 1, got 0/);
    expect(() => modelLayers({ kind: 'wrn', depth: 10, widen: 1, width: 3 } as never, [3, 8, 8], 1)).toThrow(/model \(wrn\): unknown key "width"/);
  });
});
