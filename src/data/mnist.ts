// MNIST (and Fashion-MNIST, same format) as a Dataset, from the bytes of an IDX image file and label file.
import { classificationDataset, type ClassificationOptions } from './classification.ts';
import type { Dataset } from './dataset.ts';
import { readIdxImages, readIdxLabels } from './idx.ts';

/** Paths of the bundled 10,000 digits, relative to the repository root (and to the web app's root). */
export const BUNDLED_MNIST = {
  images: 'data/mnist-10k-images-idx3-ubyte.gz',
  labels: 'data/mnist-10k-labels-idx1-ubyte.gz',
};

export async function mnistDataset(
  images: Uint8Array,
  labels: Uint8Array,
  options: Partial<ClassificationOptions> & { source?: string } = {},
): Promise<Dataset> {
  const source = options.source ?? 'MNIST';
  const img = await readIdxImages(images, `${source} images`);
  const lab = await readIdxLabels(labels, `${source} labels`);
  if (img.count !== lab.length) throw new RangeError(`${source}: ${img.count} images but ${lab.length} labels`);
  return classificationDataset(img.pixels, lab, { name: source, d: img.rows * img.cols, shape: [1, img.rows, img.cols], ...options });
}
