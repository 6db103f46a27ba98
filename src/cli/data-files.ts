// Node host: bytes of a data file from a local path or an http(s) URL the user gives.
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClassificationOptions } from '../data/classification.ts';
import type { Dataset } from '../data/dataset.ts';
import { BUNDLED_MNIST, mnistDataset } from '../data/mnist.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export async function readDataFile(pathOrUrl: string): Promise<Uint8Array> {
  if (/^https?:\/\//.test(pathOrUrl)) {
    const response = await fetch(pathOrUrl);
    if (!response.ok) throw new Error(`${pathOrUrl}: HTTP ${response.status} ${response.statusText}`);
    return new Uint8Array(await response.arrayBuffer());
  }
  try {
    return new Uint8Array(await readFile(pathOrUrl));
  } catch (e) {
    throw new Error(`cannot read data file ${pathOrUrl}: ${(e as Error).message}`);
  }
}

/** The 10,000 digits shipped in data/. */
export async function loadBundledMnist(options: Partial<ClassificationOptions> = {}): Promise<Dataset> {
  const [images, labels] = await Promise.all([
    readDataFile(join(repoRoot, BUNDLED_MNIST.images)),
    readDataFile(join(repoRoot, BUNDLED_MNIST.labels)),
  ]);
  return mnistDataset(images, labels, { source: 'MNIST (10k bundled)', ...options });
}
