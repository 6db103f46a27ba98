/** A supervised data set in row-major float32: n examples of d features, k targets each. */
export interface Dataset {
  name: string;
  n: number;
  d: number;
  k: number;
  /** n×d inputs. */
  x: Float32Array;
  /** n×k targets. */
  y: Float32Array;
  /** Class of each example, for classification data. */
  labels?: Uint8Array;
}

/** The rows `index` of a data set, in that order. */
export function subset(data: Dataset, index: ArrayLike<number>, name = data.name): Dataset {
  const x = new Float32Array(index.length * data.d);
  const y = new Float32Array(index.length * data.k);
  const labels = data.labels ? new Uint8Array(index.length) : undefined;
  for (let i = 0; i < index.length; i++) {
    const r = index[i];
    if (!Number.isInteger(r) || r < 0 || r >= data.n) throw new RangeError(`${data.name}: row ${r} is out of range 0..${data.n - 1}`);
    x.set(data.x.subarray(r * data.d, (r + 1) * data.d), i * data.d);
    y.set(data.y.subarray(r * data.k, (r + 1) * data.k), i * data.k);
    if (labels) labels[i] = data.labels![r];
  }
  return { name, n: index.length, d: data.d, k: data.k, x, y, ...(labels ? { labels } : {}) };
}
