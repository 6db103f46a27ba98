/** Throws a RangeError naming the config field unless v is an integer >= min. */
export function integerAtLeast(path: string, v: unknown, min: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new RangeError(`${path} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
}

/**
 * Throws a RangeError naming the first key of `value` that is not one of `allowed`, and what is: a misspelt
 * key must fail, not leave its setting at the default.
 */
export function onlyKeys(path: string, value: unknown, allowed: readonly string[]): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new RangeError(`${path} must be an object (keys ${allowed.join(', ')}), got ${JSON.stringify(value)}`);
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new RangeError(`${path}: unknown key "${key}"; ${path} takes ${allowed.join(', ')}`);
  }
}
