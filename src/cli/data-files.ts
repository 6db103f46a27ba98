// Node host: bytes of a data file from a local path or an http(s) URL the user gives.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { ClassificationOptions } from '../data/classification.ts';
import type { Dataset } from '../data/dataset.ts';
import { BUNDLED_MNIST, mnistDataset } from '../data/mnist.ts';
import { BUNDLED_PHOTOS } from '../data/photos.ts';

import { fileProblem } from './file-problem.ts';
import { packageRoot } from './package-root.ts';

// The bundled digits and photos are named by their place in the package (BUNDLED_MNIST, BUNDLED_PHOTOS),
// found wherever it is installed and whatever the working folder.
const bundled = new Set([...Object.values(BUNDLED_MNIST), BUNDLED_PHOTOS]);

/** A regular file's bytes, at most `max` of them; anything else is a RangeError naming `what` and the file (as `shown`). */
export function readRegularFile(path: string, what: string, max: number, shown = path): Uint8Array {
  let fd: number;
  try {
    // Non-blocking, so a FIFO is refused by the check below instead of hanging the open.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new RangeError(`${what} ${shown}: ${fileProblem(e, 'read')}`);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new RangeError(`${what} ${shown}: a folder, not a file`);
    if (!st.isFile()) throw new RangeError(`${what} ${shown}: not a regular file`);
    if (st.size > max) throw new RangeError(`${what} ${shown}: ${st.size} bytes, more than the ${max} read`);
    const bytes = new Uint8Array(st.size);
    let at = 0;
    while (at < bytes.length) {
      const got = readSync(fd, bytes, at, bytes.length - at, at);
      if (got === 0) break;
      at += got;
    }
    return bytes.subarray(0, at);
  } finally {
    closeSync(fd);
  }
}

/** The largest local data file read (an ONNX model, arrays, image batches). */
const DATA_MAX_BYTES = 2 ** 31;

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
  // A regular file of bounded size: a FIFO, a device or a folder is refused, never read.
  return readRegularFile(bundled.has(pathOrUrl) ? join(packageRoot, pathOrUrl) : pathOrUrl, 'cannot read data file', DATA_MAX_BYTES, pathOrUrl);
}

/** The 10,000 digits shipped in data/. */
export async function loadBundledMnist(options: Partial<ClassificationOptions> = {}): Promise<Dataset> {
  const [images, labels] = await Promise.all([
    readDataFile(BUNDLED_MNIST.images),
    readDataFile(BUNDLED_MNIST.labels),
  ]);
  return mnistDataset(images, labels, { source: 'MNIST (10k bundled)', ...options });
}
