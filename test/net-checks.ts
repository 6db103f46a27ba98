// The checks every network kind gets against the float64 reference (test/cnn.test.ts, test/residual.test.ts,
// test/transformer.test.ts): forward, parameter and input gradients, forward-mode products, the central
// differences of the float64 forward pass, the adjoint identity ⟨J u, s⟩ = ⟨u, Jᵀ s⟩ on the GPU, and
// Hessian-vector products against the float64 Hessian.
import { expect } from 'vitest';
import { Rng } from '../src/data/random.ts';
import { linearCombination } from '../src/kernels/ops.ts';
import { LossHeads } from '../src/nn/loss.ts';
import { modelLayers, type ModelConfig } from '../src/nn/models.ts';
import { shapeSize, type Shape } from '../src/nn/network.ts';
import { symmetricEigen } from '../src/ntk/eigen.ts';
import { MatrixFreeNtk } from '../src/ntk/matrix-free.ts';
import { PowerIteration } from '../src/ntk/spectrum.ts';
import { NtkGram } from '../src/ntk/gram.ts';
import { backwardRef, forwardRef, jvpRef, mseHessianRef, ntkGraphRef } from '../src/ref/network.ts';
import { testGpu } from './gpu.ts';
import { testNet } from './nets.ts';
import { relErr, U } from './numeric.ts';

export interface NetCase {
  name: string;
  model: ModelConfig;
  input: Shape;
  k: number;
  b: number;
  /** Parameters drawn U(−1, 1) instead of the model's initialization (which zeroes biases, embeddings, shifts). */
  randomParams?: boolean;
}

/** The case's network and reference, its parameters redrawn when the case asks. */
function caseNet(c: NetCase, gpu: Awaited<ReturnType<typeof testGpu>>, seed: number) {
  const made = testNet(gpu, c.model, c.input, c.k, seed);
  if (c.randomParams) gpu.write(made.net.params, new Rng(seed + 1000).uniformArray(made.net.layout.size, -1, 1));
  return made;
}

/** Relative tolerance from the sum of the reduction lengths (every layer's fan-in), as for dense nets. */
export function tolerance(model: ModelConfig, input: Shape, k: number, b: number): number {
  const layers = modelLayers(model, input, k);
  const reductions = layers.reduce((s, l) => s + shapeSize(l.inShape) + shapeSize(l.outShape), 0);
  return 8 * U * (reductions + b);
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

/** Forward, gradients, J u, central differences and the adjoint identity of one case against float64. */
export async function checkAgainstFloat64(c: NetCase): Promise<void> {
  const gpu = await testGpu();
  const { net, ref } = caseNet(c, gpu, 11);
  const d = shapeSize(c.input);
  const rng = new Rng(12);
  const x = rng.uniformArray(c.b * d, -1, 1);
  const s = rng.uniformArray(c.b * c.k, -1, 1);
  const u = rng.uniformArray(net.layout.size, -1, 1);
  for (const t of net.layout.tensors) if (t.frozen) u.fill(0, t.offset, t.offset + t.count);
  const X = gpu.matrix('X', c.b, d, x);
  const S = gpu.matrix('S', c.b, c.k, s);
  const Ub = gpu.matrix('u', net.layout.size, 1, u);
  const dX = gpu.matrix('dX', c.b, d);
  const Ju = gpu.matrix('Ju', c.b, c.k);
  const step = gpu.step('cnn');
  const tape = await net.forward(step, X);
  await net.backward(step, tape, S, { inputGrad: dX });
  await net.jvp(step, tape, Ub.buffer, Ju);
  gpu.submit(step);
  const params = await net.readParams();
  const fwd = forwardRef(ref, params, x, c.b);
  const want = backwardRef(ref, params, fwd, s);
  const tol = tolerance(c.model, c.input, c.k, c.b);
  const grads = await net.readGrads();
  expect(relErr(await gpu.read(tape.output), fwd.outputs.at(-1)!), 'forward').toBeLessThan(tol);
  for (const t of net.layout.tensors) {
    const r = [t.offset, t.offset + t.count] as const;
    if (t.frozen) expect(grads.subarray(...r).every((v) => v === 0), `${t.name} frozen`).toBe(true);
    else expect(relErr(grads.subarray(...r), want.grads.subarray(...r)), `∇ ${t.name}`).toBeLessThan(tol);
  }
  expect(relErr(await gpu.read(dX), want.inputGrad), '∇x').toBeLessThan(tol);
  const ju = await gpu.read(Ju);
  expect(relErr(ju, jvpRef(ref, params, fwd, u)), 'J u').toBeLessThan(tol);

  // Central differences of the float64 forward pass along u (parameters) and along a direction of x.
  const h = 1e-5;
  const along = (delta: number) => forwardRef(ref, Float64Array.from(params, (p, i) => p + delta * u[i]), x, c.b).outputs.at(-1)!;
  const fd = along(h).map((v, i) => (v - along(-h)[i]) / (2 * h));
  expect(relErr(ju, fd), 'J u against central differences').toBeLessThan(1e-5);
  const e = rng.uniformArray(c.b * d, -1, 1);
  const alongX = (delta: number) => forwardRef(ref, params, Float64Array.from(x, (v, i) => v + delta * e[i]), c.b).outputs.at(-1)!;
  const fdX = dot(s, alongX(h).map((v, i) => (v - alongX(-h)[i]) / (2 * h)));
  expect(Math.abs(dot(await gpu.read(dX), e) - fdX) / (Math.abs(fdX) + 1e-12), '⟨∇x, e⟩ against central differences').toBeLessThan(1e-5);
  // The adjoint identity on the GPU alone: ⟨J u, s⟩ = ⟨u, Jᵀ s⟩.
  const left = dot(ju, s);
  const right = dot(u, grads);
  expect(Math.abs(left - right) / (Math.abs(left) + Math.abs(right)), '⟨J u, s⟩ = ⟨u, Jᵀ s⟩').toBeLessThan(tol);
  net.destroy();
}

/** H u of the MSE loss by the R-operator against the float64 Hessian (central differences of gradients). */
export async function checkHessianVector(c: NetCase): Promise<void> {
  const gpu = await testGpu();
  const { net, ref } = caseNet(c, gpu, 3);
  if (net.hessianUnsupported) throw new Error(`${c.name}: ${net.hessianUnsupported}`);
  const losses = new LossHeads(gpu, c.k);
  const d = shapeSize(c.input);
  const rng = new Rng(13);
  const x = rng.uniformArray(c.b * d, -1, 1);
  const y = rng.uniformArray(c.b * c.k, -1, 1);
  const u = rng.uniformArray(net.layout.size, -1, 1);
  const X = gpu.matrix('X', c.b, d, x);
  const Y = gpu.matrix('Y', c.b, c.k, y);
  const Ub = gpu.matrix('u', net.layout.size, 1, u);
  const Fdot = gpu.matrix('Fdot', c.b, c.k);
  const seedDot = gpu.matrix('seedDot', c.b, c.k);
  const Hu = gpu.createBuffer({ label: 'Hu', size: net.layout.size * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  const loss = gpu.matrix('loss', 1, 1);
  const step = gpu.step('hvp');
  const tape = await net.forward(step, X);
  const { seed } = await losses.mse(step, tape.output, Y, loss.buffer, 0);
  const backward = await net.backward(step, tape, seed, { paramGrads: false });
  const along = await net.jvp(step, tape, Ub.buffer, Fdot);
  await linearCombination(step, 2 / c.b, Fdot, 0, Fdot, seedDot);
  await net.hessianVectorBackward(step, backward, along, seedDot, Hu);
  gpu.submit(step);
  const P = net.layout.size;
  const H = mseHessianRef(ref, await net.readParams(), x, y, c.b);
  const want = Float64Array.from({ length: P }, (_, i) => dot(H.subarray(i * P, (i + 1) * P), u));
  const got = await gpu.read(Hu);
  const live = net.layout.tensors.flatMap((t) => Array.from({ length: t.count }, (_, j) => t.offset + j));
  expect(relErr(live.map((i) => got[i]), live.map((i) => want[i]))).toBeLessThan(1e-4);
  net.destroy();
}

/**
 * K of n examples by Jacobian contraction (whole sites, and chunks of `chunk` floats), the matrix-free K·v and
 * λ_max by power iteration on it, against the float64 J·Jᵀ and its largest eigenvalue.
 */
export async function checkNtkMethods(c: NetCase & { chunk: number }): Promise<void> {
  const gpu = await testGpu();
  const { net, ref } = caseNet(c, gpu, 41);
  const d = shapeSize(c.input);
  const x = new Rng(42).uniformArray(c.b * d, -1, 1);
  const X = gpu.matrix('X', c.b, d, x);
  const m = c.b * c.k;
  const want = ntkGraphRef(ref, await net.readParams(), x, c.b, c.k);
  const tol = tolerance(c.model, c.input, c.k, c.b);
  const gram = new NtkGram(gpu, net);
  for (const chunk of [1 << 22, c.chunk]) {
    const K = gpu.matrix('K', m, m);
    const step = gpu.step('jacobian');
    await gram.jacobian(step, X, K, chunk);
    gpu.submit(step);
    expect(relErr(await gpu.read(K), want), `${c.name}: K by Jacobian contraction, chunks of ${chunk} floats`).toBeLessThan(tol);
  }
  const op = new MatrixFreeNtk(gpu, net, X);
  const v = new Rng(43).uniformArray(m, -1, 1);
  const V = gpu.matrix('v', m, 1, v);
  const Kv = gpu.matrix('Kv', m, 1);
  const step = gpu.step('K·v');
  await (await op.linearize(step)).apply(step, V, Kv);
  gpu.submit(step);
  const Kv64 = Array.from({ length: m }, (_, i) => want.subarray(i * m, (i + 1) * m).reduce((s, kij, j) => s + kij * v[j], 0));
  expect(relErr(await gpu.read(Kv), Kv64), `${c.name}: matrix-free K·v`).toBeLessThan(tol);
  // λ_max of the matrix-free operator by power iteration, against the float64 eigenvalue.
  const lambda = symmetricEigen(want, m).values[0];
  const r = await new PowerIteration(gpu, m, 1).run(op, { tolerance: 1e-7, maxIterations: 400 });
  expect(Math.abs(r.lambda - lambda) / lambda, `${c.name}: λ_max by power iteration`).toBeLessThan(1e-4);
  op.destroy();
  gram.destroy();
  net.destroy();
}
