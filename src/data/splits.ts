// Seeded splits and batch orders. They use only Rng (integer arithmetic), so Node and the browser draw the
// same examples in the same order for the same seed.
import { Rng } from './random.ts';

/** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
export function permutation(n: number, rng: Rng): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

export interface Split {
  train: Uint32Array;
  val: Uint32Array;
  test: Uint32Array;
}

/** Disjoint train/validation/test index sets drawn from n examples. */
export function split(n: number, sizes: { train: number; val?: number; test?: number }, seed: number): Split {
  const val = sizes.val ?? 0;
  const test = sizes.test ?? 0;
  for (const [name, v] of Object.entries({ train: sizes.train, val, test })) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`split: ${name} size must be an integer >= 0, got ${v}`);
  }
  if (sizes.train + val + test > n) {
    throw new RangeError(`split: train ${sizes.train} + val ${val} + test ${test} = ${sizes.train + val + test} examples, only ${n} available`);
  }
  const p = permutation(n, new Rng(seed));
  return {
    train: p.slice(0, sizes.train),
    val: p.slice(sizes.train, sizes.train + val),
    test: p.slice(sizes.train + val, sizes.train + val + test),
  };
}

/**
 * Batches of size b over 0..n-1: each epoch a fresh permutation cut into ceil(n/b) batches (the last one
 * smaller when b does not divide n), as PyTorch's shuffled DataLoader does. b = n gives full-batch GD.
 */
export class BatchOrder {
  private readonly rng: Rng;
  private order: Uint32Array;
  private pos = 0;
  epoch = 0;

  constructor(
    readonly n: number,
    readonly batchSize: number,
    seed: number,
    readonly shuffle = true,
  ) {
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > n) {
      throw new RangeError(`batch size must be an integer in 1..${n} (the training set), got ${batchSize}`);
    }
    this.rng = new Rng(seed);
    this.order = this.draw();
  }

  private draw(): Uint32Array {
    if (this.shuffle) return permutation(this.n, this.rng);
    return Uint32Array.from({ length: this.n }, (_, i) => i);
  }

  /** The next batch's example indices. */
  next(): Uint32Array {
    if (this.pos >= this.n) {
      this.order = this.draw();
      this.pos = 0;
      this.epoch++;
    }
    const batch = this.order.slice(this.pos, Math.min(this.n, this.pos + this.batchSize));
    this.pos += batch.length;
    return batch;
  }
}
