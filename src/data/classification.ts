// Image classification data (MNIST, Fashion-MNIST, CIFAR-10) as a Dataset: pixels scaled to [0, 1], a
// subset of classes kept and renumbered, targets one-hot (k = classes) or ±1 (two classes, k = 1).
import type { Dataset } from './dataset.ts';

export type TargetCoding = 'one-hot' | 'pm1';

export interface ClassificationOptions {
  name: string;
  /** Bytes per example (28·28 for MNIST, 3·32·32 for CIFAR-10). */
  d: number;
  /** [channels, height, width] of an image, its bytes in that (NCHW) order. */
  shape?: readonly [number, number, number];
  /** Classes to keep, in the order that numbers them; all ten by default. Two classes for CIFAR-2. */
  classes?: number[];
  /** 'pm1': +1 for the first class, −1 for the second (two classes only). Default one-hot. */
  targets?: TargetCoding;
}

export function classificationDataset(pixels: Uint8Array, labels: Uint8Array, o: ClassificationOptions): Dataset {
  const count = labels.length;
  if (pixels.length !== count * o.d) {
    throw new RangeError(`${o.name}: ${pixels.length} pixel bytes for ${count} labels of ${o.d} bytes each`);
  }
  const classes = o.classes ?? [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  if (new Set(classes).size !== classes.length || classes.some((c) => !Number.isInteger(c) || c < 0 || c > 255)) {
    throw new RangeError(`${o.name}: classes must be distinct integers in 0..255, got [${classes}]`);
  }
  const targets = o.targets ?? 'one-hot';
  if (targets === 'pm1' && classes.length !== 2) {
    throw new RangeError(`${o.name}: ±1 targets need exactly two classes, got ${classes.length}`);
  }
  const classIndex = new Map(classes.map((c, i) => [c, i]));
  const rows: number[] = [];
  for (let i = 0; i < count; i++) if (classIndex.has(labels[i])) rows.push(i);
  if (rows.length === 0) throw new RangeError(`${o.name}: no example has one of the classes [${classes}]`);

  const k = targets === 'pm1' ? 1 : classes.length;
  const x = new Float32Array(rows.length * o.d);
  const y = new Float32Array(rows.length * k);
  const kept = new Uint8Array(rows.length);
  rows.forEach((r, i) => {
    for (let j = 0; j < o.d; j++) x[i * o.d + j] = pixels[r * o.d + j] / 255;
    const c = classIndex.get(labels[r])!;
    kept[i] = c;
    if (targets === 'pm1') y[i] = c === 0 ? 1 : -1;
    else y[i * k + c] = 1;
  });
  const which = o.classes ? ` classes ${classes.join(',')}` : '';
  return { name: `${o.name}${which}`, n: rows.length, d: o.d, k, x, y, labels: kept, ...(o.shape ? { shape: o.shape } : {}) };
}
