/** Throws a RangeError naming the config field unless v is an integer >= min. */
export function integerAtLeast(path: string, v: unknown, min: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new RangeError(`${path} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
}
