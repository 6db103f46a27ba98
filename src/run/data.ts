// A run's data from its config: synthetic tasks drawn by seed, the unit-sphere task, or images (the bundled
// MNIST digits or a user's IDX files, CIFAR-10 batches, the bundled CIFAR-like photos) or a user's arrays, with
// seeded train/validation/test splits. Host-neutral: the host passes `readFile`.
import type { z } from 'zod';
import { checkConfigPart } from '../config/check.ts';
import { dataSchema } from '../config/parts.ts';
import { classificationDataset } from '../data/classification.ts';
import { downsampleImages, subset, type Dataset } from '../data/dataset.ts';
import { readCifar10 } from '../data/idx.ts';
import { readNpy } from '../io/safetensors.ts';
import { BUNDLED_MNIST, mnistDataset } from '../data/mnist.ts';
import { BUNDLED_PHOTOS, PHOTO_CLASSES } from '../data/photos.ts';
import { split } from '../data/splits.ts';
import { sphereDataset, syntheticDataset, trueEgop } from '../data/synthetic.ts';

/** A data config: its kinds, keys, ranges and help are the schema's (src/config/parts.ts, dataSchema). */
export type DataConfig = z.infer<typeof dataSchema>;

export interface RunData {
  train: Dataset;
  val?: Dataset;
  test?: Dataset;
  /** The true EGOP of a synthetic task (d×d), for AGOP alignment. */
  egop?: Float64Array;
}

export type ReadFile = (pathOrUrl: string) => Promise<Uint8Array>;


/** Checks a data config against its schema (src/config/schema.ts). */
export function validateData(c: DataConfig): void {
  checkConfigPart(dataSchema, c, 'data');
}

/**
 * One example's shape and the number of targets a data config gives, known before any file is read, so
 * that a model can be checked against its data when the config is (null where the images would not survive
 * the downsampling; building the data says why).
 */
export function dataShape(c: DataConfig): { shape: [number, number, number]; k: number } | null {
  switch (c.kind) {
    case 'synthetic':
    case 'sphere':
      return { shape: [c.d, 1, 1], k: 1 };
    case 'arrays':
      return null;
    case 'mnist':
    case 'cifar10':
    case 'photos': {
      const [channels, size] = c.kind === 'mnist' ? [1, 28] : [3, 32];
      const side = Math.floor(size / (c.downsample ?? 1));
      const classes = c.classes?.length ?? (c.kind === 'photos' ? PHOTO_CLASSES.length : 10);
      return side < 1 ? null : { shape: [channels, side, side], k: c.targets === 'pm1' ? 1 : classes };
    }
  }
}

/** Builds the data of a run; `seed` draws the synthetic inputs, the noise and the splits. */
export async function buildData(c: DataConfig, seed: number, readFile: ReadFile): Promise<RunData> {
  validateData(c);
  switch (c.kind) {
    case 'synthetic': {
      const val = c.val ?? 0;
      const test = c.test ?? 0;
      const all = syntheticDataset({ task: c.task, n: c.train + val + test, d: c.d, noise: c.noise ?? 0.1, seed });
      const rows = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
      return {
        train: subset(all, rows(0, c.train), `${all.name} train`),
        ...(val ? { val: subset(all, rows(c.train, val), `${all.name} val`) } : {}),
        ...(test ? { test: subset(all, rows(c.train + val, test), `${all.name} test`) } : {}),
        egop: trueEgop(c.task, c.d, 100_000, seed),
      };
    }
    case 'sphere':
      return { train: sphereDataset({ n: c.n, d: c.d, scaledIndex: c.scaledIndex ?? 0, scale: c.scale ?? 2, seed }) };
    case 'mnist': {
      const [imgBytes, labBytes] = await Promise.all([readFile(c.images ?? BUNDLED_MNIST.images), readFile(c.labels ?? BUNDLED_MNIST.labels)]);
      const all = await mnistDataset(imgBytes, labBytes, {
        source: c.images ? `MNIST (${c.images}, ${c.labels ?? 'bundled labels'})` : 'MNIST (10k bundled)',
        ...(c.classes ? { classes: c.classes } : {}),
        ...(c.targets ? { targets: c.targets } : {}),
      });
      return splitData(c.downsample && c.downsample > 1 ? downsampleImages(all, c.downsample) : all, c, seed);
    }
    case 'arrays':
      return splitData(arraysDataset(readNpy(await readFile(c.x), `data.x ${c.x}`), readNpy(await readFile(c.y), `data.y ${c.y}`), c), c, seed);
    case 'cifar10':
    case 'photos': {
      const files = c.kind === 'photos' ? [BUNDLED_PHOTOS] : typeof c.files === 'string' ? [c.files] : c.files;
      const batches = await Promise.all(files.map(async (f) => readCifar10(await readFile(f), f)));
      const labels = new Uint8Array(batches.reduce((s, b) => s + b.count, 0));
      const pixels = new Uint8Array(labels.length * 3072);
      let at = 0;
      for (const b of batches) {
        labels.set(b.labels, at);
        pixels.set(b.pixels, at * 3072);
        at += b.count;
      }
      const classes = c.classes ?? (c.kind === 'photos' ? PHOTO_CLASSES : undefined);
      const all = classificationDataset(pixels, labels, {
        name: c.kind === 'photos' ? 'photos (CIFAR-like, bundled)' : 'CIFAR-10',
        d: 3072,
        shape: [3, 32, 32],
        ...(classes ? { classes } : {}),
        ...(c.targets ? { targets: c.targets } : {}),
      });
      return splitData(c.downsample && c.downsample > 1 ? downsampleImages(all, c.downsample) : all, c, seed);
    }
  }
}

function splitData(all: Dataset, c: { train: number; val?: number; test?: number }, seed: number): RunData {
  const s = split(all.n, { train: c.train, val: c.val ?? 0, test: c.test ?? 0 }, seed);
  return {
    train: subset(all, s.train, `${all.name} train`),
    ...(s.val.length ? { val: subset(all, s.val, `${all.name} val`) } : {}),
    ...(s.test.length ? { test: subset(all, s.test, `${all.name} test`) } : {}),
  };
}

/**
 * A user's arrays as a data set: X [N, d] (vectors) or [N, c, l] / [N, c, h, w] (the example's shape, NCHW)
 * and y [N] (one target) or [N, k], as float32. Their lengths must agree and every value must be finite.
 */
export function arraysDataset(X: { values: Float64Array; shape: number[] }, Y: { values: Float64Array; shape: number[] }, c: { x: string; y: string }): Dataset {
  if (X.shape.length < 2 || X.shape.length > 4) throw new RangeError(`data.x ${c.x} has shape (${X.shape.join(', ')}); inputs are [N, d], [N, c, l] or [N, c, h, w], one example per row`);
  if (Y.shape.length < 1 || Y.shape.length > 2) throw new RangeError(`data.y ${c.y} has shape (${Y.shape.join(', ')}); targets are [N] or [N, k]`);
  const n = X.shape[0];
  if (Y.shape[0] !== n) throw new RangeError(`data.x ${c.x} has ${n} examples, data.y ${c.y} has ${Y.shape[0]}: they must have one target row per example`);
  if (n < 1) throw new RangeError(`data.x ${c.x} has no examples`);
  const d = X.values.length / n;
  const k = Y.shape[1] ?? 1;
  if (k < 1 || d < 1) throw new RangeError(`data: examples of ${d} values with ${k} targets; both must be at least 1`);
  for (const [what, path, v] of [['x', c.x, X.values], ['y', c.y, Y.values]] as const) {
    const bad = v.findIndex((e) => !Number.isFinite(e));
    if (bad >= 0) throw new RangeError(`data.${what} ${path}: value ${bad} is ${v[bad]}; every value must be finite`);
  }
  const rest = X.shape.slice(1);
  const shape = rest.length === 1 ? undefined : ([rest[0], rest[1], rest[2] ?? 1] as const);
  return { name: `arrays ${c.x}`, n, d, k, x: Float32Array.from(X.values), y: Float32Array.from(Y.values), ...(shape ? { shape } : {}) };
}
