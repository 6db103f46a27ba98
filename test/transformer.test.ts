// Transformer layers against the float64 reference: layer norm and its affine part, GELU, multi-head
// self-attention (one head at sequence lengths 1 and 7, two heads), position embeddings and the ViT model;
// forward, gradients, J u, central differences, the adjoint identity, the NTK by Jacobian contraction and
// matrix-free against the float64 J·Jᵀ, and Hessians refused by name.
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../src/data/random.ts';
import { modelLayers, type ModelConfig } from '../src/nn/models.ts';
import { attentionJacobianRef, attentionRef, layerNormJacobianRef, layerNormRef } from '../src/ref/transformer.ts';
import { releaseTestGpu, testGpu } from './gpu.ts';
import { checkAgainstFloat64, checkHessianVector, checkNtkMethods, type NetCase } from './net-checks.ts';
import { testNet } from './nets.ts';
import { relErr } from './numeric.ts';

afterAll(releaseTestGpu);

const tokens = (out: number) => ({ type: 'conv2d' as const, out, kernel: 1, bias: 0.3 });

const CASES: NetCase[] = [
  {
    name: 'one head over 7 tokens',
    model: { kind: 'graph', layers: [tokens(4), { type: 'attention', heads: 1 }, { type: 'globalavgpool' }, { type: 'linear' }] },
    input: [3, 1, 7],
    k: 2,
    b: 3,
    randomParams: true,
  },
  {
    name: 'one head over 1 token',
    model: { kind: 'graph', layers: [tokens(4), { type: 'attention', heads: 1, bias: 0.5 }, { type: 'flatten' }, { type: 'linear' }] },
    input: [3, 1, 1],
    k: 1,
    b: 4,
    randomParams: true,
  },
  {
    name: 'a pre-norm block: patch embedding, position embedding, layer norm, two heads, GELU MLP, residual joins',
    model: {
      kind: 'graph',
      layers: [
        { type: 'conv2d', out: 4, kernel: 2, stride: 2, bias: 0.5 },
        { type: 'posembed' },
        { type: 'residual', main: [{ type: 'layernorm' }, { type: 'attention', heads: 2, bias: 0.2 }] },
        { type: 'residual', main: [{ type: 'layernorm' }, tokens(6), { type: 'gelu' }, tokens(4)] },
        { type: 'layernorm' },
        { type: 'globalavgpool' },
        { type: 'linear', bias: 0.4 },
      ],
    },
    input: [2, 5, 4],
    k: 2,
    b: 3,
    randomParams: true,
  },
  {
    name: 'the vit model (dim 8, patch 2, 2 blocks, 2 heads), standard parameterization',
    model: { kind: 'vit', dim: 8, patch: 2, depth: 2, heads: 2, mlpRatio: 2, bias: 0.5, parameterization: 'standard' },
    input: [1, 4, 4],
    k: 2,
    b: 2,
  },
];

describe('the float64 transformer references', () => {
  // Central differences of the float64 maps themselves, so the references are checked before they check anything.
  const fd = (f: (x: Float64Array) => Float64Array, x: Float64Array, v: ArrayLike<number>) => {
    const h = 1e-6;
    const up = f(x.map((e, i) => e + h * v[i]));
    const down = f(x.map((e, i) => e - h * v[i]));
    return up.map((e, i) => (e - down[i]) / (2 * h));
  };
  const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, e, i) => s + e * b[i], 0);

  it('layer norm and attention: the Jacobian matches central differences, and its transpose is its adjoint', () => {
    const rng = new Rng(3);
    const x = Float64Array.from(rng.uniformArray(2 * 5 * 3, -1, 1));
    const v = rng.uniformArray(x.length, -1, 1);
    const w = rng.uniformArray(x.length, -1, 1);
    const ln = (z: Float64Array) => layerNormRef(z, 2, 5, 3, 1e-5);
    const Jv = layerNormJacobianRef(x, v, 2, 5, 3, 1e-5);
    expect(relErr(Jv, fd(ln, x, v))).toBeLessThan(1e-7);
    expect(Math.abs(dot(Jv, w) - dot(v, layerNormJacobianRef(x, w, 2, 5, 3, 1e-5)))).toBeLessThan(1e-12);

    const shape = { b: 2, D: 4, heads: 2, T: 5 };
    const q = Float64Array.from(rng.uniformArray(2 * 12 * 5, -2, 2));
    const qv = rng.uniformArray(q.length, -1, 1);
    const dy = rng.uniformArray(2 * 4 * 5, -1, 1);
    const Aq = attentionJacobianRef(q, shape, qv, false);
    expect(relErr(Aq, fd((z) => attentionRef(z, shape).y, q, qv))).toBeLessThan(1e-7);
    expect(Math.abs(dot(Aq, dy) - dot(qv, attentionJacobianRef(q, shape, dy, true)))).toBeLessThan(1e-12);
    // Each row of P sums to 1.
    const { P } = attentionRef(q, shape);
    for (let r = 0; r < P.length / 5; r++) expect(Math.abs(P.subarray(r * 5, r * 5 + 5).reduce((s, e) => s + e, 0) - 1)).toBeLessThan(1e-12);
  });
});

describe('transformer networks on the GPU against float64', () => {
  for (const c of CASES) {
    it(`${c.name}: forward, gradients, jvp, central differences and the adjoint identity`, () => checkAgainstFloat64(c));
  }

  it('Hessian-vector products through position embeddings match the float64 Hessian', () =>
    checkHessianVector({
      name: 'patch embedding, position embedding, ReLU, linear',
      model: { kind: 'graph', layers: [{ type: 'conv2d', out: 3, kernel: 2, stride: 2, bias: 0.5 }, { type: 'posembed' }, { type: 'relu' }, { type: 'flatten' }, { type: 'linear' }] },
      input: [2, 4, 4],
      k: 2,
      b: 3,
      randomParams: true,
    }));

  it('refuses Hessian-vector products through attention, naming the layer', async () => {
    const gpu = await testGpu();
    const { net } = testNet(gpu, CASES[0].model, CASES[0].input, CASES[0].k, 1);
    expect(net.hessianUnsupported).toBe('the attention layer "1" has no R-operator (second derivative)');
    const step = gpu.step('hvp');
    const X = gpu.matrix('X', 2, 21);
    const tape = await net.forward(step, X);
    const seed = gpu.matrix('seed', 2, 2);
    const pass = { tape, count: 0 };
    await expect(net.hessianVectorBackward(step, { ...pass, seed }, { ...pass, tangent: net.params }, seed, net.grads)).rejects.toThrow(/Hessian-vector products: the attention layer "1" has no R-operator/);
    net.destroy();
  });
});

describe('the NTK of a transformer', () => {
  // Random parameters: the initialization's unit layer-norm scales and zero shifts are a special case.
  it('by Jacobian contraction and matrix-free equals the float64 J·Jᵀ of a tiny ViT', () =>
    checkNtkMethods({ name: 'tiny ViT', model: { kind: 'vit', dim: 8, patch: 2, depth: 2, heads: 2, mlpRatio: 2, bias: 0.5 }, input: [1, 4, 4], k: 2, b: 5, randomParams: true, chunk: 60 }));
});

describe('transformer model configs', () => {
  it('names the ViT\'s tensors as timm does, token maps as 1×1 convolutions', () => {
    const names = modelLayers({ kind: 'vit', dim: 8, patch: 4, depth: 1, heads: 2, mlpRatio: 2, bias: 1 }, [3, 8, 8], 2)
      .flatMap((l) => ('params' in l ? l.params.map((p) => `${p.name} [${p.shape}]`) : []));
    expect(names).toEqual([
      'patch_embed.proj.weight [8,3,4,4]',
      'patch_embed.proj.bias [8]',
      'pos_embed [1,8,2,2]',
      'blocks.0.norm1.weight [8]',
      'blocks.0.norm1.bias [8]',
      'blocks.0.attn.qkv.weight [24,8,1,1]',
      'blocks.0.attn.qkv.bias [24]',
      'blocks.0.attn.proj.weight [8,8,1,1]',
      'blocks.0.attn.proj.bias [8]',
      'blocks.0.norm2.weight [8]',
      'blocks.0.norm2.bias [8]',
      'blocks.0.mlp.fc1.weight [16,8,1,1]',
      'blocks.0.mlp.fc1.bias [16]',
      'blocks.0.mlp.fc2.weight [8,16,1,1]',
      'blocks.0.mlp.fc2.bias [8]',
      'norm.weight [8]',
      'norm.bias [8]',
      'head.weight [2,8]',
      'head.bias [2]',
    ]);
  });

  it('refuses what it cannot build, naming the field', () => {
    const vit = (over: object) => () => modelLayers({ kind: 'vit', dim: 8, ...over } as ModelConfig, [1, 8, 8], 1);
    expect(vit({ heads: 3 })).toThrow(/model.dim \(8\) must be a multiple of model.heads \(3\)/);
    expect(vit({ mlpRatio: 0 })).toThrow(/model.mlpRatio must be a finite number > 0, got 0/);
    expect(vit({ patch: 0 })).toThrow(/model.patch must be an integer >= 1, got 0/);
    expect(vit({ classToken: true })).toThrow(/model \(vit\): unknown key "classToken"/);
    expect(vit({ patch: 9 })).toThrow(/kernel 9 is larger than its input 1×8×8/);
    const graph = (layers: unknown[]) => () => modelLayers({ kind: 'graph', layers } as ModelConfig, [6, 2, 2], 1);
    expect(graph([{ type: 'attention', heads: 4 }])).toThrow(/model.layers\[0\] \(attention\): its input's 6 channels are not a multiple of 4 heads/);
    expect(graph([{ type: 'attention' }])).toThrow(/model.layers\[0\].heads must be an integer >= 1, got undefined/);
    expect(graph([{ type: 'layernorm', eps: 1e-6 }])).toThrow(/model.layers\[0\] \(layernorm\): unknown field "eps"; a layernorm layer takes no fields/);
  });
});
