// Thinning a long run for drawing (never for export): the step range is cut into `buckets` equal slices
// and each slice keeps its first and last point and, for every series, its lowest and highest point, so a
// one-step spike survives any zoom level. Values follow uPlot's convention: undefined is "not measured at
// this step" (the line runs on across it), null is a gap (a diverged loss, a log axis's non-positive value).

export type Column = ArrayLike<number | null | undefined>;

/** Indices to draw out of `length` points; all of them when there are few enough. */
export function drawIndices(length: number, series: Column[], buckets: number): number[] {
  if (length <= 2 * buckets) return Array.from({ length }, (_, i) => i);
  const keep = new Set<number>();
  for (let b = 0; b < buckets; b++) {
    const lo = Math.floor((b * length) / buckets);
    const hi = Math.floor(((b + 1) * length) / buckets);
    if (hi <= lo) continue;
    keep.add(lo);
    keep.add(hi - 1);
    for (const col of series) {
      let min = -1;
      let max = -1;
      for (let i = lo; i < hi; i++) {
        const v = col[i];
        if (v === undefined) continue;
        if (v === null || !Number.isFinite(v)) {
          keep.add(i); // a gap must stay visible
          continue;
        }
        if (min < 0 || v < (col[min] as number)) min = i;
        if (max < 0 || v > (col[max] as number)) max = i;
      }
      if (min >= 0) keep.add(min);
      if (max >= 0) keep.add(max);
    }
  }
  return [...keep].sort((a, b) => a - b);
}

/** The columns restricted to `indices`. */
export function pick<T>(column: ArrayLike<T>, indices: number[]): T[] {
  return indices.map((i) => column[i]);
}
