import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { buildData } from '../src/run/data.ts';
import { describe, expect, it } from 'vitest';
import { convertMnistPackage } from '../scripts/bundle-mnist.ts';
import { loadBundledMnist, readDataFile } from '../src/cli/data-files.ts';
import { classificationDataset } from '../src/data/classification.ts';
import { subset } from '../src/data/dataset.ts';
import { CIFAR_RECORD, DataFormatError, readCifar10, readIdxImages, readIdxLabels, writeIdx } from '../src/data/idx.ts';
import { BUNDLED_MNIST } from '../src/data/mnist.ts';
import { BatchOrder, permutation, split } from '../src/data/splits.ts';
import { Rng } from '../src/data/random.ts';
import { TASKS, TASK_DEFS, alignment, monteCarloEgop, sphereDataset, syntheticDataset, trueEgop } from '../src/data/synthetic.ts';

describe('IDX reader', () => {
  const pixels = Uint8Array.from({ length: 3 * 4 * 5 }, (_, i) => i);
  const images = writeIdx('images', pixels, [3, 4, 5]);
  const labels = writeIdx('labels', Uint8Array.of(2, 0, 9), [3]);

  it('reads raw and gzip files alike', async () => {
    for (const bytes of [images, new Uint8Array(gzipSync(images))]) {
      const img = await readIdxImages(bytes);
      expect([img.count, img.rows, img.cols]).toEqual([3, 4, 5]);
      expect(Array.from(img.pixels)).toEqual(Array.from(pixels));
    }
    expect(Array.from(await readIdxLabels(new Uint8Array(gzipSync(labels))))).toEqual([2, 0, 9]);
  });

  it('names what is wrong with a malformed file', async () => {
    await expect(readIdxImages(labels, 'x.idx')).rejects.toThrow(/x.idx: magic number 0x00000801 \(a label file\), expected 0x00000803 for images/);
    await expect(readIdxImages(images.slice(0, images.length - 1))).rejects.toThrow(/header says 3 images of 4×5 \(76 bytes\), file has 75 bytes \(truncated\)/);
    await expect(readIdxImages(images.slice(0, 10))).rejects.toThrow(/shorter than an IDX header/);
    await expect(readIdxLabels(writeIdx('labels', Uint8Array.of(1, 10), [2]))).rejects.toThrow(/label 10 at index 1 is not a class in 0..9/);
    const gz = new Uint8Array(gzipSync(images));
    await expect(readIdxImages(gz.slice(0, gz.length - 8))).rejects.toBeInstanceOf(DataFormatError);
  });
});

describe('CIFAR-10 reader', () => {
  const records = new Uint8Array(3 * CIFAR_RECORD);
  for (let i = 0; i < 3; i++) {
    records[i * CIFAR_RECORD] = [7, 9, 0][i];
    records.fill(i + 1, i * CIFAR_RECORD + 1, (i + 1) * CIFAR_RECORD);
  }

  it('reads labels and channel-major pixels', async () => {
    const b = await readCifar10(records);
    expect(b.count).toBe(3);
    expect(Array.from(b.labels)).toEqual([7, 9, 0]);
    expect(b.pixels[0]).toBe(1);
    expect(b.pixels[3072 * 2 + 100]).toBe(3);
  });

  it('refuses cut records and labels past 9', async () => {
    await expect(readCifar10(records.slice(0, CIFAR_RECORD + 5), 'batch.bin')).rejects.toThrow(/batch.bin: 3078 bytes .* the last record is cut after 5 bytes/);
    const bad = records.slice();
    bad[CIFAR_RECORD] = 10;
    await expect(readCifar10(bad)).rejects.toThrow(/record 1 has label 10/);
  });
});

describe('a run\'s data', () => {
  it('reads CIFAR-10 batches the user names, keeps two classes as CIFAR-2 and splits them by seed', async () => {
    const record = (label: number, value: number) => {
      const r = new Uint8Array(CIFAR_RECORD).fill(value);
      r[0] = label;
      return r;
    };
    const dir = mkdtempSync(join(tmpdir(), 'cifar-'));
    const files = [0, 1].map((f) => {
      const path = join(dir, `data_batch_${f + 1}.bin`);
      const recs = Array.from({ length: 20 }, (_, i) => record([7, 9, 3][i % 3], f * 100 + i));
      writeFileSync(path, Buffer.concat(recs.map((r) => Buffer.from(r))));
      return path;
    });
    const data = await buildData({ kind: 'cifar10', files, train: 20, test: 6, classes: [7, 9], targets: 'pm1' }, 1, readDataFile);
    // 40 records, 28 of them of classes 7 and 9 (14 per file); 20 + 6 are drawn.
    expect([data.train.n, data.test!.n, data.train.d, data.train.k]).toEqual([20, 6, 3072, 1]);
    expect(new Set(data.train.y)).toEqual(new Set([1, -1]));
    await expect(buildData({ kind: 'cifar10', files: [], train: 1 }, 1, readDataFile)).rejects.toThrow(/data.files must list the CIFAR-10 binary batch files/);
    await expect(buildData({ kind: 'cifar10', files: [join(dir, 'missing.bin')], train: 1 }, 1, readDataFile)).rejects.toThrow(/cannot read data file .*missing.bin/);
    // One file as it is, as `--set data.files=data_batch_1.bin` gives it.
    const one = await buildData({ kind: 'cifar10', files: files[0], train: 10, classes: [7, 9], targets: 'pm1' }, 1, readDataFile);
    expect([one.train.n, one.train.d]).toEqual([10, 3072]);
  });
});

describe('bundled MNIST', () => {
  it('equals a fresh conversion of the mnist package', async () => {
    const fresh = convertMnistPackage();
    expect(Buffer.from(gunzipSync(await readDataFile(BUNDLED_MNIST.images))).equals(Buffer.from(fresh.images))).toBe(true);
    expect(Buffer.from(gunzipSync(await readDataFile(BUNDLED_MNIST.labels))).equals(Buffer.from(fresh.labels))).toBe(true);
  });

  it('loads 10,000 digits of 784 pixels in [0, 1] with one-hot targets', async () => {
    const mnist = await loadBundledMnist();
    expect([mnist.n, mnist.d, mnist.k]).toEqual([10_000, 784, 10]);
    expect(Math.min(...mnist.x.subarray(0, 784 * 50))).toBe(0);
    expect(Math.max(...mnist.x.subarray(0, 784 * 50))).toBeLessThanOrEqual(1);
    const counts = new Array(10).fill(0);
    for (const l of mnist.labels!) counts[l]++;
    for (const c of counts) expect(c).toBeGreaterThan(800); // every digit is there in quantity
    for (let i = 0; i < mnist.n; i += 997) expect(mnist.y[i * 10 + mnist.labels![i]]).toBe(1);
  });

  it('takes a two-class subset with ±1 targets (digits 7 and 9)', async () => {
    const all = await loadBundledMnist();
    const two = await loadBundledMnist({ classes: [7, 9], targets: 'pm1' });
    const sevens = all.labels!.filter((l) => l === 7).length;
    const nines = all.labels!.filter((l) => l === 9).length;
    expect([two.n, two.k]).toEqual([sevens + nines, 1]);
    expect(two.y.filter((v) => v === 1).length).toBe(sevens);
    expect(two.y.filter((v) => v === -1).length).toBe(nines);
    await expect(loadBundledMnist({ classes: [1, 2, 3], targets: 'pm1' })).rejects.toThrow(/±1 targets need exactly two classes, got 3/);
  });

  it('reports a missing file by its path', async () => {
    await expect(readDataFile('/nonexistent/train-images.idx3-ubyte')).rejects.toThrow(/cannot read data file \/nonexistent\/train-images/);
  });
});

describe('classification datasets', () => {
  it('renumbers the kept classes in the order given', () => {
    const d = classificationDataset(Uint8Array.of(0, 255, 51, 102), Uint8Array.of(3, 5, 3, 1), { name: 't', d: 1, classes: [5, 3] });
    expect(d.n).toBe(3);
    expect(Array.from(d.labels!)).toEqual([1, 0, 1]);
    expect(Array.from(d.x)).toEqual([0, 1, 51 / 255].map(Math.fround));
    expect(Array.from(d.y)).toEqual([0, 1, 1, 0, 0, 1]);
  });
});

describe('synthetic tasks', () => {
  it('draws y = f*(x) + ε', () => {
    const d = syntheticDataset({ task: 'rank-2', n: 50, d: 100, noise: 0, seed: 3 });
    for (let i = 0; i < d.n; i++) expect(d.y[i]).toBeCloseTo(d.x[i * 100] * d.x[i * 100 + 1], 5);
    const noisy = syntheticDataset({ task: 'rank-2', n: 20_000, d: 2, noise: 0.1, seed: 3 });
    let s2 = 0;
    for (let i = 0; i < noisy.n; i++) s2 += (noisy.y[i] - noisy.x[2 * i] * noisy.x[2 * i + 1]) ** 2;
    expect(Math.sqrt(s2 / noisy.n)).toBeCloseTo(0.1, 2);
  });

  it('has gradients that match central differences of the target', () => {
    const rng = new Rng(9);
    for (const name of TASKS) {
      const task = TASK_DEFS[name];
      const d = 12;
      const x = Float64Array.from({ length: d }, () => rng.normal());
      const g = new Float64Array(d);
      task.gradient(x, g);
      for (let j = 0; j < d; j++) {
        const h = 1e-5;
        const up = x.slice();
        const down = x.slice();
        up[j] += h;
        down[j] -= h;
        expect(g[j], `${name} ∂/∂x${j + 1}`).toBeCloseTo((task.target(up) - task.target(down)) / (2 * h), 6);
      }
    }
  });

  it('estimates the true EGOP by Monte Carlo (rank-2 exact, rank-4 diagonal 4, 3, 2, 1)', () => {
    const exact = trueEgop('rank-2', 5);
    const mc = monteCarloEgop(TASK_DEFS['rank-2'], 5, 100_000, 2);
    // E[x²] per sample has variance 2: standard error 0.0045 at 100k samples.
    for (let i = 0; i < 25; i++) expect(Math.abs(mc[i] - exact[i])).toBeLessThan(0.025);
    const g4 = trueEgop('rank-4', 6, 200_000);
    const diag = [0, 1, 2, 3, 4, 5].map((i) => g4[i * 6 + i]);
    [4, 3, 2, 1, 0, 0].forEach((want, i) => expect(Math.abs(diag[i] - want)).toBeLessThan(0.06 * Math.max(want, 1)));
  });

  it('measures alignment as the cosine of matrices', () => {
    const G = trueEgop('rank-2', 4);
    expect(alignment(G, G)).toBeCloseTo(1, 12);
    expect(alignment(G.map((v) => 3 * v), G)).toBeCloseTo(1, 12);
    const other = new Float64Array(16);
    other[15] = 1;
    expect(alignment(other, G)).toBe(0);
  });

  it('refuses an unknown task or a dimension the target cannot use', () => {
    expect(() => syntheticDataset({ task: 'rank-5' as never, n: 1, d: 10, noise: 0, seed: 0 })).toThrow(/task must be one of rank-2, rank-3, rank-4, full-rank/);
    expect(() => syntheticDataset({ task: 'rank-3', n: 1, d: 5, noise: 0, seed: 0 })).toThrow(/rank-3 needs d >= 10/);
  });

  it('builds the unit-sphere task with one scaled example', () => {
    const d = sphereDataset({ n: 100, d: 100, scaledIndex: 17, scale: 2, seed: 1 });
    for (let i = 0; i < d.n; i++) {
      const norm = Math.hypot(...d.x.subarray(i * 100, (i + 1) * 100));
      expect(norm).toBeCloseTo(i === 17 ? 2 : 1, 5);
      expect(d.y[i]).toBe(i === 17 ? 2 : 1);
    }
  });
});

describe('seeded splits and batches', () => {
  it('draws disjoint splits of the asked sizes, the same for the same seed', () => {
    const s = split(100, { train: 60, val: 25, test: 10 }, 5);
    const all = [...s.train, ...s.val, ...s.test];
    expect([s.train.length, s.val.length, s.test.length]).toEqual([60, 25, 10]);
    expect(new Set(all).size).toBe(95);
    expect(split(100, { train: 60, val: 25, test: 10 }, 5)).toEqual(s);
    expect(split(100, { train: 60, val: 25, test: 10 }, 6).train).not.toEqual(s.train);
    expect(() => split(10, { train: 8, val: 3 }, 0)).toThrow(/train 8 \+ val 3 \+ test 0 = 11 examples, only 10 available/);
  });

  it('visits every example once per epoch, in a seeded order', () => {
    const order = new BatchOrder(10, 4, 11);
    const epoch = [order.next(), order.next(), order.next()];
    expect(epoch.map((b) => b.length)).toEqual([4, 4, 2]);
    expect([...epoch.flatMap((b) => [...b])].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(order.epoch).toBe(0);
    order.next();
    expect(order.epoch).toBe(1);
    const again = new BatchOrder(10, 4, 11);
    expect([again.next(), again.next()]).toEqual(epoch.slice(0, 2));
    expect(() => new BatchOrder(10, 11, 0)).toThrow(/batch size must be an integer in 1..10/);
  });

  it('permutes uniformly (each position takes each value about equally often)', () => {
    const rng = new Rng(1);
    const counts = new Array(5 * 5).fill(0);
    for (let t = 0; t < 20_000; t++) permutation(5, rng).forEach((v, pos) => counts[pos * 5 + v]++);
    for (const c of counts) expect(Math.abs(c - 4000)).toBeLessThan(5 * Math.sqrt(4000 * 0.8)); // 5 sigma
  });

  it('subsets rows in the given order', () => {
    const d = syntheticDataset({ task: 'rank-2', n: 5, d: 2, noise: 0, seed: 1 });
    const s = subset(d, [4, 0]);
    expect(Array.from(s.x)).toEqual([d.x[8], d.x[9], d.x[0], d.x[1]]);
    expect(() => subset(d, [5])).toThrow(/row 5 is out of range 0..4/);
  });
});
