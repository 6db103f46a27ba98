// Node host: bytes of a data file from a local path or an http(s) URL the user gives.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClassificationOptions } from '../data/classification.ts';
import type { Dataset } from '../data/dataset.ts';
import { BUNDLED_MNIST, mnistDataset } from '../data/mnist.ts';

import { fileProblem } from './file-problem.ts';
import { packageRoot } from './package-root.ts';

// The bundled digits are named by their place in the package (BUNDLED_MNIST), found wherever it is
// installed and whatever the working folder.
const bundled = new Set(Object.values(BUNDLED_MNIST));

/** The bytes of a data file; a file that cannot be read is the user's input to fix (RangeError, naming it). */
export async function readDataFile(pathOrUrl: string): Promise<Uint8Array> {
  if (typeof pathOrUrl !== 'string' || pathOrUrl === '') throw new RangeError(`a data file must be a path or URL, got ${JSON.stringify(pathOrUrl)}`);
  if (/^https?:\/\//.test(pathOrUrl)) {
    let response: Response;
    try {
      response = await fetch(pathOrUrl);
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new RangeError(`cannot fetch data file ${pathOrUrl}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
    }
    if (!response.ok) throw new RangeError(`cannot fetch data file ${pathOrUrl}: HTTP ${response.status} ${response.statusText}`);
    return new Uint8Array(await response.arrayBuffer());
  }
  try {
    return new Uint8Array(await readFile(bundled.has(pathOrUrl) ? join(packageRoot, pathOrUrl) : pathOrUrl));
  } catch (e) {
    throw new RangeError(`cannot read data file ${pathOrUrl}: ${fileProblem(e, 'read')}`);
  }
}

/** The 10,000 digits shipped in data/. */
export async function loadBundledMnist(options: Partial<ClassificationOptions> = {}): Promise<Dataset> {
  const [images, labels] = await Promise.all([
    readDataFile(BUNDLED_MNIST.images),
    readDataFile(BUNDLED_MNIST.labels),
  ]);
  return mnistDataset(images, labels, { source: 'MNIST (10k bundled)', ...options });
}
