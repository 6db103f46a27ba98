// The matrix-free NTK product K·v = J(Jᵀv) and the Hessian-vector product of the batch loss, against
// float64 references, and power iteration on both operators.
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../src/data/random.ts';
import { symmetricEigen } from '../src/ntk/eigen.ts';
import { NtkGram } from '../src/ntk/gram.ts';
import { BatchHessian } from '../src/ntk/hessian.ts';
import { MatrixFreeNtk } from '../src/ntk/matrix-free.ts';
import { PowerIteration } from '../src/ntk/spectrum.ts';
import { mseHessianRef, ntkGraphRef } from '../src/ref/network.ts';
import { fcnNet, type FcnTestConfig } from './nets.ts';
import { releaseTestGpu, testGpu } from './gpu.ts';
import { relErr, U } from './numeric.ts';

afterAll(releaseTestGpu);

const config = (over: Partial<FcnTestConfig> = {}): FcnTestConfig => ({ inputDim: 11, hidden: [13, 7], outputs: 1, seed: 5, ...over });

function matVec(A: ArrayLike<number>, v: ArrayLike<number>, m: number): Float64Array {
  const out = new Float64Array(m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) out[i] += A[i * m + j] * v[j];
  return out;
}

describe('matrix-free NTK product', () => {
  for (const [name, over, n, chunk] of [
    ['scalar output, one chunk', {}, 37, 64],
    ['scalar output, 3 chunks, the last partial', {}, 150, 64],
    ['3 outputs, biases everywhere, first layer frozen, 2 chunks', { outputs: 3, outputBias: 0.5, frozen: [0] }, 70, 64],
    ['standard parameterization, 2 outputs, last layer alone trains', { parameterization: 'standard', outputs: 2, outputBias: 1, frozen: [0, 1] }, 20, 64],
  ] as [string, Partial<FcnTestConfig>, number, number][]) {
    it(`K·v matches K times v (${name})`, async () => {
      const gpu = await testGpu();
      const c = config(over);
      const { net, ref: refNet } = fcnNet(gpu, c);
      const x = new Rng(6).uniformArray(n * c.inputDim, -1, 1);
      const X = gpu.matrix('X', n, c.inputDim, x);
      const op = new MatrixFreeNtk(gpu, net, X, { chunk });
      const m = n * c.outputs;
      const v = new Rng(7).uniformArray(m, -1, 1);
      const V = gpu.matrix('v', m, 1, v);
      const out = gpu.matrix('Kv', m, 1);
      // The structured K on the GPU as well: the two GPU methods must agree with each other too.
      const K = gpu.matrix('K', m, m);
      const KvStructured = gpu.matrix('K v structured', m, 1);
      const step = gpu.step('K v');
      await (await op.linearize(step)).apply(step, V, out);
      const gram = new NtkGram(gpu, net);
      await gram.structured(step, X, K);
      const { matrixOperator } = await import('../src/ntk/operator.ts');
      await matrixOperator(K).apply(step, V, KvStructured);
      gpu.submit(step);
      const ref = matVec(ntkGraphRef(refNet, await net.readParams(), x, n, c.outputs), v, m);
      // Two reductions in a row: over the parameters' widths and over the nk entries of v.
      const tol = 8 * U * (c.inputDim + c.hidden.reduce((s, w) => s + w, 0) + c.outputs + 2 * m);
      expect(relErr(await gpu.read(out), ref)).toBeLessThan(tol);
      expect(relErr(await gpu.read(KvStructured), ref)).toBeLessThan(tol);
      op.destroy();
      gram.destroy();
      net.destroy();
    });
  }

  it('gives λ_max of the float64 K by power iteration, and refuses a chunk that breaks alignment', async () => {
    const gpu = await testGpu();
    const c = config({ outputs: 2 });
    const { net, ref: refNet } = fcnNet(gpu, c);
    const n = 90;
    const x = new Rng(8).uniformArray(n * c.inputDim, -1, 1);
    const X = gpu.matrix('X', n, c.inputDim, x);
    expect(() => new MatrixFreeNtk(gpu, net, X, { chunk: 100 })).toThrow(/chunk must be a positive multiple of 64 examples, got 100/);
    const op = new MatrixFreeNtk(gpu, net, X, { chunk: 64 });
    const power = new PowerIteration(gpu, op.dim, 3);
    const r = await power.run(op, { tolerance: 1e-7, maxIterations: 400 });
    const m = n * c.outputs;
    const want = symmetricEigen(ntkGraphRef(refNet, await net.readParams(), x, n, c.outputs), m).values[0];
    expect(Math.abs(r.lambda - want) / want).toBeLessThan(1e-4);
    expect(r.residual).toBeLessThan(1e-2);
    power.destroy();
    op.destroy();
    net.destroy();
  });
});

describe('Hessian-vector products of the batch loss (R-operator)', () => {
  for (const [name, over] of [
    ['NTK parameterization, 2 outputs, biases', { inputDim: 5, hidden: [7, 6], outputs: 2, outputBias: 0.5 }],
    ['standard parameterization, scalar output, first layer frozen', { inputDim: 4, hidden: [9], outputs: 1, parameterization: 'standard', frozen: [0] }],
  ] as [string, Partial<FcnTestConfig>][]) {
    it(`H·u and λ_max(H) match the float64 Hessian (${name})`, async () => {
      const gpu = await testGpu();
      const c = config(over);
      const { net, ref: refNet } = fcnNet(gpu, c);
      const b = 8;
      const rng = new Rng(9);
      const x = rng.uniformArray(b * c.inputDim, -1, 1);
      const y = rng.uniformArray(b * c.outputs, -1, 1);
      const X = gpu.matrix('X', b, c.inputDim, x);
      const Y = gpu.matrix('Y', b, c.outputs, y);
      const params = await net.readParams();
      const H = mseHessianRef(refNet, params, x, y, b);
      const P = net.layout.size;
      // u on the trainable coordinates only (H's null rows), as power iteration's iterates are.
      const u = rng.uniformArray(P, -1, 1).map((v, i) => (H[i * P + i] !== 0 || H.subarray(i * P, (i + 1) * P).some((h) => h !== 0) ? v : 0));
      const hessian = new BatchHessian(gpu, net);
      const U_ = gpu.matrix('u', P, 1, u);
      const Hu = gpu.matrix('Hu', P, 1);
      const step = gpu.step('Hu');
      const op = await hessian.linearize(step, X, Y);
      await op.apply(step, U_, Hu);
      gpu.submit(step);
      expect(relErr(await gpu.read(Hu), matVec(H, u, P))).toBeLessThan(1e-4);
      const power = new PowerIteration(gpu, P, 4);
      const r = await power.run(op, { tolerance: 1e-6, maxIterations: 2000 });
      const eig = symmetricEigen(H, P).values;
      const top = Math.max(eig[0], -eig[P - 1]);
      expect(Math.abs(r.lambda - top) / top).toBeLessThan(1e-4);
      power.destroy();
      hessian.destroy();
      net.destroy();
    });
  }

  it('is a value of its point: an operator whose passes a later one overwrote refuses to run, naming why', async () => {
    const gpu = await testGpu();
    const c = config({ inputDim: 5, hidden: [7], outputs: 1 });
    const { net } = fcnNet(gpu, c);
    const rng = new Rng(3);
    const X = gpu.matrix('X', 4, c.inputDim, rng.uniformArray(4 * c.inputDim, -1, 1));
    const Y = gpu.matrix('Y', 4, 1, rng.uniformArray(4, -1, 1));
    const P = net.layout.size;
    const u = gpu.matrix('u', P, 1, rng.uniformArray(P, -1, 1));
    const Hu = gpu.matrix('Hu', P, 1);
    const hessian = new BatchHessian(gpu, net);
    const step = gpu.step('two points');
    const first = await hessian.linearize(step, X, Y);
    const second = await hessian.linearize(step, X, Y);
    await second.apply(step, u, Hu);
    await expect(first.apply(step, u, Hu)).rejects.toThrow(/stale tape/);
    // At the network's level: a backward or tangent pass that a later one of its workspace overwrote.
    const tape = await net.forward(step, X, { workspace: 'check' });
    const seed = gpu.matrix('seed', 4, 1, rng.uniformArray(4, -1, 1));
    const Fdot = gpu.matrix('Fdot', 4, 1);
    const oldBackward = await net.backward(step, tape, seed, { paramGrads: false });
    const backward = await net.backward(step, tape, seed, { paramGrads: false });
    const oldAlong = await net.jvp(step, tape, u.buffer, Fdot);
    const along = await net.jvp(step, tape, u.buffer, Fdot);
    await expect(net.hessianVectorBackward(step, oldBackward, along, Fdot, Hu.buffer)).rejects.toThrow(/stale backward pass/);
    await expect(net.hessianVectorBackward(step, backward, oldAlong, Fdot, Hu.buffer)).rejects.toThrow(/stale tangent pass/);
    const other = await net.forward(step, X, { workspace: 'other' });
    await expect(net.hessianVectorBackward(step, backward, await net.jvp(step, other, u.buffer, Fdot), Fdot, Hu.buffer)).rejects.toThrow(/different tapes/);
    await net.hessianVectorBackward(step, backward, along, Fdot, Hu.buffer);
    gpu.submit(step);
    await gpu.done();
    hessian.destroy();
    net.destroy();
  });
});
