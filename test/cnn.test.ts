// Convolutional networks end to end against the float64 reference: every layer kind (conv2d with stride 1 and 2,
// padding 0 and 1, one channel; ReLU fused and standalone; average and global average pooling; flatten; linear)
// in small graphs, forward, parameter and input gradients, forward-mode products, the central differences of the
// float64 forward pass, the adjoint identity ⟨J u, s⟩ = ⟨u, Jᵀ s⟩ on the GPU, and Hessian-vector products.
import { afterAll, describe, expect, it } from 'vitest';
import { buildNetwork } from '../src/nn/graph.ts';
import { modelLayers, type ModelConfig } from '../src/nn/models.ts';
import type { Shape } from '../src/nn/network.ts';
import { releaseTestGpu, testGpu } from './gpu.ts';
import { checkAgainstFloat64, checkHessianVector, type NetCase } from './net-checks.ts';

afterAll(releaseTestGpu);

const CASES: NetCase[] = [
  {
    name: 'conv s=1 p=1 + ReLU, avgpool 2, flatten, linear (biases)',
    model: { kind: 'graph', layers: [{ type: 'conv2d', out: 3, kernel: 3, padding: 1, bias: 0.5 }, { type: 'relu' }, { type: 'avgpool', kernel: 2 }, { type: 'flatten' }, { type: 'linear', bias: 0.3 }] },
    input: [2, 6, 5],
    k: 2,
    b: 3,
  },
  {
    name: 'conv s=2 p=0 on odd 7×7, ReLU, conv 1×1 to one channel, global average pool, linear',
    model: { kind: 'graph', layers: [{ type: 'conv2d', out: 4, kernel: 3, stride: 2 }, { type: 'relu' }, { type: 'conv2d', out: 1, kernel: 1 }, { type: 'globalavgpool' }, { type: 'linear' }] },
    input: [1, 7, 7],
    k: 1,
    b: 4,
  },
  {
    name: 'standalone ReLU after a pool, standard parameterization, first layer frozen',
    model: { kind: 'graph', parameterization: 'standard', frozen: [0], layers: [{ type: 'conv2d', out: 3, kernel: 2, stride: 2, padding: 1, bias: 1 }, { type: 'avgpool', kernel: 2 }, { type: 'relu' }, { type: 'flatten' }, { type: 'linear', out: 5 }, { type: 'relu' }, { type: 'linear' }] },
    input: [2, 5, 6],
    k: 3,
    b: 2,
  },
  { name: 'the cnn model (depth 3, 3 channels)', model: { kind: 'cnn', depth: 3, channels: 3 }, input: [1, 5, 5], k: 2, b: 3 },
  { name: 'the myrtle model (depth 5, 2 channels)', model: { kind: 'myrtle', depth: 5, channels: 2 }, input: [3, 8, 8], k: 2, b: 2 },
];

describe('convolutional networks on the GPU against float64', () => {
  for (const c of CASES) {
    it(`${c.name}: forward, gradients, jvp, central differences and the adjoint identity`, () => checkAgainstFloat64(c));
  }

  it('Hessian-vector products of a convolutional net match the float64 Hessian (R-operator through conv and pooling)', () => checkHessianVector(CASES[0]));
});

describe('model configs that cannot be built', () => {
  const build = (model: ModelConfig, input: Shape = [1, 6, 6], k = 1) => () => modelLayers(model, input, k);
  it('names the layer and what is allowed', () => {
    expect(build({ kind: 'graph', layers: [{ type: 'dropout' } as never] })).toThrow(/model.layers\[0\]: unknown layer type "dropout"; the types are linear, conv2d, relu, avgpool, maxpool, globalavgpool, flatten, residual/);
    expect(build({ kind: 'graph', layers: [{ type: 'maxpool' } as never] })).toThrow(/model.layers\[0\].kernel must be an integer >= 1/);
    expect(build({ kind: 'graph', layers: [{ type: 'conv2d', out: 2, kernel: 3 }, { type: 'linear' }] })).toThrow(/model.layers\[1\] \(linear\) takes a vector, but the layer before gives 2×4×4: put a flatten before it/);
    expect(build({ kind: 'graph', layers: [{ type: 'conv2d', out: 2, kernel: 9 }, { type: 'flatten' }, { type: 'linear' }] })).toThrow(/model.layers\[0\] \(conv2d\): kernel 9 is larger than its input 1×6×6 with padding 0/);
    expect(build({ kind: 'graph', layers: [{ type: 'avgpool', kernel: 7 }] })).toThrow(/model.layers\[0\] \(avgpool\): window 7 is larger than its input 1×6×6/);
    expect(build({ kind: 'graph', layers: [{ type: 'conv2d', out: 2, kernel: 3, dilation: 2 } as never] })).toThrow(/model.layers\[0\] \(conv2d\): unknown field "dilation"; a conv2d layer takes out, kernel, stride, padding, bias/);
    expect(build({ kind: 'graph', layers: [{ type: 'flatten' }, { type: 'linear', out: 4 }] }, [1, 6, 6], 2)).toThrow(/the model ends in 4 values per example; the task has 2 outputs: end with a linear layer of out 2/);
    expect(build({ kind: 'myrtle', depth: 6 as never, channels: 4 })).toThrow(/model.depth of a myrtle model must be 5, 7 or 10, got 6/);
    expect(build({ kind: 'cnn', channels: 0 })).toThrow(/model.channels must be an integer >= 1, got 0/);
    expect(build({ kind: 'resnet' as never, channels: 4 } as never)).toThrow(/model.kind must be one of fcn, cnn, myrtle, wrn, vit, onnx, graph; got "resnet"/);
    expect(build({ kind: 'cnn', channels: 4 }, [100, 1, 1])).toThrow(/layer 0 of the cnn model \(conv2d\) needs images, but its input is a vector of 100/);
  });

  it('refuses, before allocating, a net whose one example outgrows a storage binding, and a batch over its micro-batch', async () => {
    const gpu = await testGpu();
    const limit = gpu.limits.maxStorageBufferBindingSize;
    // Enough output channels on a 1×64×64 image that one example's activations pass the binding limit.
    const out = Math.ceil(limit / (4 * 64 * 64)) + 1;
    const huge: ModelConfig = { kind: 'graph', layers: [{ type: 'conv2d', out, kernel: 3, padding: 1 }, { type: 'globalavgpool' }, { type: 'flatten' }, { type: 'linear' }] };
    const before = gpu.liveBytes;
    expect(() => buildNetwork(gpu, huge, [1, 64, 64], 1, 0)).toThrow(/buffer "one example's activations" needs .* over this device's maxStorageBufferBindingSize .*; to fit, use fewer channels or smaller images/);
    expect(gpu.liveBytes).toBe(before);
    // One example a seventh of the limit: a micro-batch of 7, and a batch of 8 refused by its size.
    const wide = Math.ceil(limit / (7.5 * 4 * 64 * 64));
    const net = buildNetwork(gpu, { kind: 'graph', layers: [{ type: 'conv2d', out: wide, kernel: 3, padding: 1 }, { type: 'globalavgpool' }, { type: 'flatten' }, { type: 'linear' }] }, [1, 64, 64], 1, 0);
    expect(net.microBatch).toBe(7);
    const X = gpu.matrix('X', 8, 64 * 64);
    await expect(net.forward(gpu.step('too big'), X)).rejects.toThrow(/buffer "activations of a batch of 8" needs .* maxStorageBufferBindingSize .*; to fit, use batches of at most 7 examples \(micro-batches\)/);
    X.buffer.destroy();
    net.destroy();
  });

  it('names a Sequential\'s tensors by position, as torch.nn.Sequential\'s state_dict does', () => {
    const layers = modelLayers({ kind: 'cnn', depth: 3, channels: 4, bias: 0.1 }, [3, 8, 8], 2);
    const names = layers.flatMap((l) => ('params' in l ? l.params.map((p) => `${p.name} [${p.shape}]`) : []));
    // Conv2d, ReLU, Conv2d, ReLU, Flatten, Linear: modules 0, 2 and 5 have parameters.
    expect(names).toEqual(['0.weight [4,3,3,3]', '0.bias [4]', '2.weight [4,4,3,3]', '2.bias [4]', '5.weight [2,256]', '5.bias [2]']);
  });
});
