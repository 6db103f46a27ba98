/** A supervised data set in row-major float32: n examples of d features, k targets each. */
export interface Dataset {
  name: string;
  n: number;
  d: number;
  k: number;
  /** The shape of one example, [channels, height, width] with its d = c·h·w features in that (NCHW) order; vectors have none. */
  shape?: readonly [number, number, number];
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
  return { name, n: index.length, d: data.d, k: data.k, x, y, ...(labels ? { labels } : {}), ...(data.shape ? { shape: data.shape } : {}) };
}

/** An example's shape: its image shape, or [d, 1, 1] for vectors. */
export function exampleShape(data: Pick<Dataset, 'd' | 'shape'>): readonly [number, number, number] {
  return data.shape ?? [data.d, 1, 1];
}

/** Images averaged over f×f blocks (⌊h/f⌋ × ⌊w/f⌋, a cut-off edge dropped), as a smaller-image data set. */
export function downsampleImages(data: Dataset, f: number): Dataset {
  if (!data.shape) throw new RangeError(`data.downsample needs image data; ${data.name} has vectors`);
  const [c, h, w] = data.shape;
  const ho = Math.floor(h / f);
  const wo = Math.floor(w / f);
  if (ho < 1 || wo < 1) throw new RangeError(`data.downsample ${f} is larger than the ${h}×${w} images`);
  const d = c * ho * wo;
  const x = new Float32Array(data.n * d);
  for (let n = 0; n < data.n; n++) {
    for (let ch = 0; ch < c; ch++) {
      for (let i = 0; i < ho; i++) {
        for (let j = 0; j < wo; j++) {
          let s = 0;
          for (let u = 0; u < f; u++) for (let v = 0; v < f; v++) s += data.x[n * data.d + (ch * h + i * f + u) * w + j * f + v];
          x[n * d + (ch * ho + i) * wo + j] = s / (f * f);
        }
      }
    }
  }
  return { ...data, name: `${data.name} (${ho}×${wo})`, d, x, shape: [c, ho, wo] };
}
