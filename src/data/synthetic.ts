// The synthetic tasks of the paper (EXPERIMENTS.md, "Datasets"), with their targets f*, the gradients ∇f*
// in closed form, and the true EGOP G* = E[∇f*(x) ∇f*(x)ᵀ] that AGOP alignment is measured against.
import { Rng } from './random.ts';
import type { Dataset } from './dataset.ts';

export type TaskName = 'rank-2' | 'rank-3' | 'rank-4' | 'full-rank';
export const TASKS: readonly TaskName[] = ['rank-2', 'rank-3', 'rank-4', 'full-rank'];

export interface Task {
  name: TaskName;
  /** Smallest input dimension the target needs. */
  minDim: number;
  target(x: Float64Array | Float32Array): number;
  /** ∇f*(x), written into g (length d). */
  gradient(x: Float64Array | Float32Array, g: Float64Array): void;
}

const sum = (x: ArrayLike<number>, from: number, to: number) => {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i];
  return s;
};

export const TASK_DEFS: Record<TaskName, Task> = {
  // y = x1·x2
  'rank-2': {
    name: 'rank-2',
    minDim: 2,
    target: (x) => x[0] * x[1],
    gradient: (x, g) => {
      g.fill(0);
      g[0] = x[1];
      g[1] = x[0];
    },
  },
  // y = x1·x2·(x1 + … + x10)
  'rank-3': {
    name: 'rank-3',
    minDim: 10,
    target: (x) => x[0] * x[1] * sum(x, 0, 10),
    gradient: (x, g) => {
      const s = sum(x, 0, 10);
      g.fill(0);
      for (let i = 0; i < 10; i++) g[i] = x[0] * x[1];
      g[0] += x[1] * s;
      g[1] += x[0] * s;
    },
  },
  // y = x1 + x1x2 + x1x2x3 + x1x2x3x4
  'rank-4': {
    name: 'rank-4',
    minDim: 4,
    target: (x) => x[0] + x[0] * x[1] + x[0] * x[1] * x[2] + x[0] * x[1] * x[2] * x[3],
    gradient: (x, g) => {
      const [a, b, c, d] = [x[0], x[1], x[2], x[3]];
      g.fill(0);
      g[0] = 1 + b + b * c + b * c * d;
      g[1] = a + a * c + a * c * d;
      g[2] = a * b + a * b * d;
      g[3] = a * b * c;
    },
  },
  // y = ‖x‖ / sqrt(d): depends on every direction, the paper's control where catapults do not help
  'full-rank': {
    name: 'full-rank',
    minDim: 1,
    target: (x) => Math.sqrt(sum(Array.from(x, (v) => v * v), 0, x.length) / x.length),
    gradient: (x, g) => {
      let s = 0;
      for (let i = 0; i < x.length; i++) s += x[i] * x[i];
      const norm = Math.sqrt(s);
      for (let i = 0; i < x.length; i++) g[i] = norm > 0 ? x[i] / (norm * Math.sqrt(x.length)) : 0;
    },
  },
};

export interface SyntheticOptions {
  task: TaskName;
  n: number;
  d: number;
  /** Standard deviation of the label noise ε (the paper's 0.1). */
  noise: number;
  seed: number;
}

function checkTask(task: string, d: number): Task {
  const def = TASK_DEFS[task as TaskName];
  if (!def) throw new RangeError(`task must be one of ${TASKS.join(', ')}; got "${task}"`);
  if (!Number.isInteger(d) || d < def.minDim) throw new RangeError(`task ${task} needs d >= ${def.minDim}, got ${d}`);
  return def;
}

/** x ~ N(0, I_d), y = f*(x) + ε with ε ~ N(0, noise²). */
export function syntheticDataset(o: SyntheticOptions): Dataset {
  const task = checkTask(o.task, o.d);
  if (!Number.isInteger(o.n) || o.n < 1) throw new RangeError(`n must be an integer >= 1, got ${o.n}`);
  if (!(o.noise >= 0)) throw new RangeError(`noise must be >= 0, got ${o.noise}`);
  const rng = new Rng(o.seed);
  const x = new Float32Array(o.n * o.d);
  const y = new Float32Array(o.n);
  for (let i = 0; i < o.n; i++) {
    const row = x.subarray(i * o.d, (i + 1) * o.d);
    for (let j = 0; j < o.d; j++) row[j] = rng.normal();
    y[i] = task.target(row) + o.noise * rng.normal();
  }
  return { name: `${o.task} d=${o.d}`, n: o.n, d: o.d, k: 1, x, y };
}

/**
 * The true EGOP of a task for x ~ N(0, I_d), as a d×d row-major matrix. Exact for rank-2 (diag(1, 1, 0, …));
 * for the others, the Monte Carlo mean of ∇f*∇f*ᵀ over `samples` seeded draws (its error falls as 1/sqrt(samples)).
 */
export function trueEgop(taskName: TaskName, d: number, samples = 100_000, seed = 1): Float64Array {
  const task = checkTask(taskName, d);
  const G = new Float64Array(d * d);
  if (taskName === 'rank-2') {
    G[0] = 1;
    G[d + 1] = 1;
    return G;
  }
  return monteCarloEgop(task, d, samples, seed);
}

/** The mean of ∇f*∇f*ᵀ over `samples` seeded draws of x ~ N(0, I_d). */
export function monteCarloEgop(task: Task, d: number, samples: number, seed: number): Float64Array {
  const G = new Float64Array(d * d);
  const rng = new Rng(seed);
  const x = new Float64Array(d);
  const g = new Float64Array(d);
  for (let s = 0; s < samples; s++) {
    for (let j = 0; j < d; j++) x[j] = rng.normal();
    task.gradient(x, g);
    // Only the gradient's support contributes: the tasks touch the first few coordinates (full-rank aside).
    for (let i = 0; i < d; i++) {
      if (g[i] === 0) continue;
      for (let j = 0; j < d; j++) G[i * d + j] += g[i] * g[j];
    }
  }
  for (let i = 0; i < G.length; i++) G[i] /= samples;
  return G;
}

/** cos(G, G*) = tr(GᵀG*) / (‖G‖_F ‖G*‖_F): the paper's AGOP alignment. */
export function alignment(G: ArrayLike<number>, Gstar: ArrayLike<number>): number {
  let dot = 0;
  let a = 0;
  let b = 0;
  for (let i = 0; i < G.length; i++) {
    dot += G[i] * Gstar[i];
    a += G[i] * G[i];
    b += Gstar[i] * Gstar[i];
  }
  return a > 0 && b > 0 ? dot / Math.sqrt(a * b) : 0;
}

export interface SphereOptions {
  /** Examples, and the input dimension (the paper: n = d = 100). */
  n: number;
  d: number;
  /** The example whose input and label are multiplied by `scale`. */
  scaledIndex: number;
  scale: number;
  seed: number;
}

/** App. F.3: x uniform on the unit sphere, y = 1; one example and its label multiplied by `scale` (2). */
export function sphereDataset(o: SphereOptions): Dataset {
  if (!Number.isInteger(o.scaledIndex) || o.scaledIndex < 0 || o.scaledIndex >= o.n) {
    throw new RangeError(`scaledIndex must be in 0..${o.n - 1}, got ${o.scaledIndex}`);
  }
  const rng = new Rng(o.seed);
  const x = new Float32Array(o.n * o.d);
  const y = new Float32Array(o.n).fill(1);
  for (let i = 0; i < o.n; i++) {
    const v = Array.from({ length: o.d }, () => rng.normal());
    const norm = Math.hypot(...v);
    const s = i === o.scaledIndex ? o.scale : 1;
    for (let j = 0; j < o.d; j++) x[i * o.d + j] = (s * v[j]) / norm;
  }
  y[o.scaledIndex] = o.scale;
  return { name: `unit sphere d=${o.d}, example ${o.scaledIndex} ×${o.scale}`, n: o.n, d: o.d, k: 1, x, y };
}
