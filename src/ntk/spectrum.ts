// Extreme eigenpairs of a symmetric positive semidefinite matrix K (an NTK) on the GPU.
//   power iteration: λ_max, warm-started from the previous call's vector, so tracking K along training
//     takes few iterations per step; scalars are read back every `checkEvery` iterations to test
//     convergence, nothing in between.
//   Lanczos with full reorthogonalization (Gram–Schmidt twice against every Lanczos vector): the top s
//     eigenpairs, and the smallest eigenvalue. Only the small tridiagonal matrix T comes back; its float64
//     eigen-decomposition gives Ritz values, and Ritz vectors are formed on the GPU.
import { divideByScalar } from '../../shaders/scale.ts';
import { Rng } from '../data/random.ts';
import type { Gpu } from '../gpu/gpu.ts';
import { Matrix } from '../gpu/matrix.ts';
import { linearCombination, matmul, reduce } from '../kernels/ops.ts';
import type { Step } from '../gpu/step.ts';
import { tridiagonalEigen } from './eigen.ts';
import { operatorAt, type OperatorSource, type SymmetricOperator } from './operator.ts';

export interface PowerResult {
  lambda: number;
  iterations: number;
  /** ‖K v − λ v‖ / λ of the returned vector. */
  residual: number;
}

export interface PowerOptions {
  maxIterations?: number;
  /** Stop when λ changes by less than this, relatively, between two checks. */
  tolerance?: number;
  checkEvery?: number;
}

const usage = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** K as an operator at the current parameters (its shared work recorded into `step`), checked to act on dim-vectors. */
async function operatorOf(step: Step, K: OperatorSource, dim: number, what: string): Promise<SymmetricOperator> {
  const size = K instanceof Matrix ? K.rows : K.dim;
  if (size !== dim || (K instanceof Matrix && K.cols !== dim)) throw new RangeError(`${what} works on ${dim}×${dim} operators, got one of dimension ${size}`);
  return operatorAt(step, K);
}

async function divide(step: Step, x: Matrix, scalars: GPUBuffer, index: number, y: Matrix): Promise<void> {
  await step.host.prepare([divideByScalar]);
  step.dispatch(divideByScalar, [x, scalars, y], { count: x.length, index });
}

export class PowerIteration {
  /** The current eigenvector estimate (unit norm), kept between calls as the warm start. */
  readonly v: Matrix;
  /** Whether v holds an estimate already (a previous call, or a restored warm start), not a random start. */
  warm = false;
  private readonly w: Matrix;
  private readonly scalars: GPUBuffer;

  constructor(
    private readonly gpu: Gpu,
    readonly dim: number,
    seed = 0,
  ) {
    const rng = new Rng(seed);
    const v0 = Float32Array.from({ length: dim }, () => rng.normal());
    const norm = Math.hypot(...v0);
    this.v = gpu.matrix('power vector', dim, 1, v0.map((x) => x / norm));
    this.w = gpu.matrix('power product', dim, 1);
    this.scalars = gpu.createBuffer({ label: 'power scalars', size: 256 * 4, usage: usage() });
  }

  async run(K: OperatorSource, options: PowerOptions = {}): Promise<PowerResult> {
    // The operator at the current parameters, linearized in the first step and used in every later one.
    let op: SymmetricOperator | null = null;
    const maxIterations = options.maxIterations ?? 500;
    const tolerance = options.tolerance ?? 1e-6;
    const checkEvery = Math.min(options.checkEvery ?? 10, 255);
    let iterations = 0;
    let previous = NaN;
    let lambda = NaN;
    while (iterations < maxIterations) {
      const batch = Math.min(checkEvery, maxIterations - iterations);
      const step = this.gpu.step('power iteration');
      op ??= await operatorOf(step, K, this.dim, 'power iteration');
      for (let i = 0; i < batch; i++) {
        await op.apply(step, this.v, this.w);
        await reduce(step, 'norm', this.w, null, this.scalars, i);
        await divide(step, this.w, this.scalars, i, this.v);
      }
      this.gpu.submit(step);
      const norms = await this.gpu.read(this.scalars, 0, batch * 4);
      iterations += batch;
      previous = batch > 1 ? norms[batch - 2] : lambda;
      lambda = norms[batch - 1];
      if (!Number.isFinite(lambda) || lambda === 0) break;
      if (Math.abs(lambda - previous) <= tolerance * lambda) break;
    }
    return { lambda, iterations, residual: op ? await this.residual(op, lambda) : NaN };
  }

  /**
   * Records `iterations` warm-started iterations into a caller's step without any readback, and writes the
   * resulting λ_max estimate λ̂ = ‖K v‖ (v the previous unit iterate) to out[slot] and its relative residual
   * ‖K v − λ̂ v‖ / λ̂ to out[residualSlot]. That residual is ‖v' − v‖ for the next iterate v' = K v / λ̂, so it
   * costs one subtraction and one norm, and it certifies λ̂: K has an eigenvalue within residual·λ̂ of it.
   * K must be dim×dim.
   */
  async record(step: Step, K: OperatorSource, iterations: number, out: GPUBuffer, slot: number, residualSlot: number): Promise<void> {
    const op = await operatorOf(step, K, this.dim, 'power iteration');
    for (let i = 0; i < iterations; i++) {
      await op.apply(step, this.v, this.w);
      const last = i === iterations - 1;
      await reduce(step, 'norm', this.w, null, last ? out : this.scalars, last ? slot : 0);
      if (!last) {
        await divide(step, this.w, this.scalars, 0, this.v);
        continue;
      }
      const next = this.w2();
      await divide(step, this.w, out, slot, next);
      await linearCombination(step, 1, next, -1, this.v, this.w);
      await reduce(step, 'norm', this.w, null, out, residualSlot);
      step.copy(next.buffer, this.v.buffer, this.dim * 4);
    }
  }

  /** ‖K v − λ v‖ / λ for the current vector. */
  private async residual(op: SymmetricOperator, lambda: number): Promise<number> {
    if (!(lambda > 0)) return NaN;
    const step = this.gpu.step('power residual');
    await op.apply(step, this.v, this.w);
    await linearCombination(step, 1, this.w, -lambda, this.v, this.w2());
    await reduce(step, 'norm', this.w2(), null, this.scalars, 255);
    this.gpu.submit(step);
    const [r] = await this.gpu.read(this.scalars, 255 * 4, 4);
    return r / lambda;
  }

  private w2Matrix: Matrix | null = null;
  private w2(): Matrix {
    this.w2Matrix ??= this.gpu.matrix('power residual vector', this.dim, 1);
    return this.w2Matrix;
  }

  destroy(): void {
    for (const m of [this.v, this.w, this.w2Matrix]) m?.buffer.destroy();
    this.scalars.destroy();
  }
}

export interface LanczosResult {
  /** The top s eigenvalues, largest first. */
  values: number[];
  /** Their eigenvectors as columns of a dim×s matrix on the GPU. */
  vectors: Matrix;
  /** The smallest Ritz value: λ_min when the iterations span enough of the spectrum (all of it at m = dim). */
  smallest: number;
  iterations: number;
  /** Per returned pair, the Lanczos estimate of ‖K u − θ u‖: |β_m · y_m|. */
  residuals: number[];
  /** The same estimate for the smallest Ritz value. */
  smallestResidual: number;
}

/** What the Lanczos recurrence's coefficients tell, host-side: the Ritz values and how to form their vectors. */
export interface RitzPairs {
  /** Steps kept: the recurrence up to its first breakdown (β ≈ 0), at most m. */
  size: number;
  /** The top `count` Ritz values, largest first. */
  values: number[];
  /** The smallest Ritz value. */
  smallest: number;
  /** size×count, row-major: column i holds the coefficients of Ritz vector i in the Lanczos basis. */
  coefficients: Float64Array;
  /** Per returned pair, the Lanczos estimate of ‖K u − θ u‖: |β_m · y_m| (0 after a breakdown: exact). */
  residuals: number[];
  /** The same estimate for the smallest Ritz value. */
  smallestResidual: number;
}

/**
 * The Ritz pairs of m Lanczos steps from α_0..α_{m-1} (v_jᵀ K v_j) and β_0..β_{m-1} (the norms after each
 * step), through the float64 eigen-decomposition of the tridiagonal T. An invariant subspace ends the
 * recurrence early: T is kept up to the first vanishing β (past a breakdown the recurrence divides by ~0, and
 * later α, β may be NaN and must not set the scale).
 */
export function ritzPairs(alphas: number[], betas: number[], count: number): RitzPairs {
  const m = alphas.length;
  const scale = Math.max(...alphas.filter(Number.isFinite).map(Math.abs), 1e-30);
  let size = m;
  for (let j = 0; j < m - 1; j++) {
    if (!(betas[j] > 1e-6 * scale)) {
      size = j + 1;
      break;
    }
  }
  const eig = tridiagonalEigen(alphas.slice(0, size), betas.slice(0, size - 1));
  const kept = Math.min(count, size);
  const coefficients = new Float64Array(size * kept);
  for (let i = 0; i < kept; i++) for (let j = 0; j < size; j++) coefficients[j * kept + i] = eig.vectors[i][j];
  const lastBeta = size < m ? 0 : betas[size - 1];
  return {
    size,
    values: Array.from(eig.values.subarray(0, kept)),
    smallest: eig.values[size - 1],
    coefficients,
    residuals: Array.from({ length: kept }, (_, i) => Math.abs(lastBeta * eig.vectors[i][size - 1])),
    smallestResidual: Math.abs(lastBeta * eig.vectors[size - 1][size - 1]),
  };
}

export interface LanczosOptions {
  /** Eigenpairs wanted (at most 10). */
  count: number;
  /** Lanczos steps; by default max(2·count + 20, 40), at most dim. */
  iterations?: number;
  seed?: number;
}

export class Lanczos {
  private readonly V: GPUBuffer;
  private readonly w: Matrix;
  private readonly w2: Matrix;
  private readonly t: Matrix;
  private readonly cur: Matrix;
  private readonly h: Matrix;
  private readonly scalars: GPUBuffer;
  readonly maxSteps: number;

  constructor(
    private readonly gpu: Gpu,
    readonly dim: number,
    maxSteps = 60,
  ) {
    this.maxSteps = Math.min(maxSteps, dim);
    this.V = gpu.createBuffer({ label: 'Lanczos vectors', size: (this.maxSteps + 1) * dim * 4, usage: usage(), shrink: 'ask for fewer Lanczos steps' });
    this.w = gpu.matrix('Lanczos w', dim, 1);
    this.w2 = gpu.matrix('Lanczos w2', dim, 1);
    this.t = gpu.matrix('Lanczos projection', dim, 1);
    this.cur = gpu.matrix('Lanczos current', dim, 1);
    this.h = gpu.matrix('Lanczos coefficients', this.maxSteps + 1, 1);
    // alphas in [0, maxSteps), betas in [maxSteps, 2·maxSteps)
    this.scalars = gpu.createBuffer({ label: 'Lanczos scalars', size: 2 * this.maxSteps * 4, usage: usage() });
  }

  /** The first `rows` Lanczos vectors as a rows×dim matrix (row j is v_j). */
  private basis(rows: number): Matrix {
    return new Matrix(this.V, rows, this.dim);
  }

  async run(K: OperatorSource, options: LanczosOptions): Promise<LanczosResult> {
    const s = options.count;
    if (!Number.isInteger(s) || s < 1 || s > 10 || s > this.dim) throw new RangeError(`Lanczos count must be an integer in 1..${Math.min(10, this.dim)}, got ${s}`);
    const m = Math.min(this.maxSteps, options.iterations ?? Math.max(2 * s + 20, 40));
    const rng = new Rng(options.seed ?? 0);
    const v0 = Float32Array.from({ length: this.dim }, () => rng.normal());
    const n0 = Math.hypot(...v0);
    this.gpu.write(this.cur.buffer, v0.map((x) => x / n0));
    const step = this.gpu.step('Lanczos');
    const op = await operatorOf(step, K, this.dim, 'Lanczos');
    step.copy(this.cur.buffer, this.V, this.dim * 4, 0, 0);
    for (let j = 0; j < m; j++) {
      const Vj = this.basis(j + 1);
      const hj = new Matrix(this.h.buffer, j + 1, 1);
      await op.apply(step, this.cur, this.w);
      // Gram–Schmidt against v_0..v_j, twice; α_j = v_jᵀ K v_j is the first pass's last coefficient.
      await matmul(step, Vj, this.w, hj);
      step.copy(this.h.buffer, this.scalars, 4, j * 4, j * 4);
      await matmul(step, Vj, hj, this.t, { transA: true });
      await linearCombination(step, 1, this.w, -1, this.t, this.w2);
      await matmul(step, Vj, this.w2, hj);
      await matmul(step, Vj, hj, this.t, { transA: true });
      await linearCombination(step, 1, this.w2, -1, this.t, this.w);
      await reduce(step, 'norm', this.w, null, this.scalars, this.maxSteps + j);
      await divide(step, this.w, this.scalars, this.maxSteps + j, this.cur);
      step.copy(this.cur.buffer, this.V, this.dim * 4, 0, (j + 1) * this.dim * 4);
    }
    this.gpu.submit(step);
    const sc = await this.gpu.read(this.scalars);
    const ritz = ritzPairs(Array.from(sc.subarray(0, m)), Array.from(sc.subarray(this.maxSteps, this.maxSteps + m)), s);
    const Ym = this.gpu.matrix('Ritz coefficients', ritz.size, ritz.values.length, Float32Array.from(ritz.coefficients));
    const vectors = this.gpu.matrix('Ritz vectors', this.dim, ritz.values.length);
    const tail = this.gpu.step('Ritz vectors');
    await matmul(tail, this.basis(ritz.size), Ym, vectors, { transA: true });
    this.gpu.submit(tail);
    await this.gpu.done();
    Ym.buffer.destroy();
    return { values: ritz.values, vectors, smallest: ritz.smallest, iterations: ritz.size, residuals: ritz.residuals, smallestResidual: ritz.smallestResidual };
  }

  destroy(): void {
    for (const m of [this.w, this.w2, this.t, this.cur, this.h]) m.buffer.destroy();
    this.V.destroy();
    this.scalars.destroy();
  }
}
