// zod's problems in this project's words: a field's dotted path (a.b[2].c) and what was wrong, and JSON files
// read against a schema. Used by the run-folder files (src/run/) and the config schema (src/config/).
import { z } from 'zod';

/** A path as a dotted key under `base`: ['layers', 2, 'out'] → "model.layers[2].out" for base "model". */
export function dottedPath(base: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${String(k)}` : String(k)), base);
}

/** A zod error as one line: each problem's path (a.b[2].c) and what was wrong. */
export function describeIssues(error: z.ZodError): string {
  const path = (p: readonly PropertyKey[]) => dottedPath('', p);
  const what = (i: z.core.$ZodIssue) =>
    i.code === 'invalid_type' && / received undefined$/.test(i.message) ? `missing (${i.expected} required)` : i.code === 'unrecognized_keys' ? `unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => JSON.stringify(k)).join(', ')}` : i.message.replace(/^Invalid input: /, '');
  const shown = error.issues.slice(0, 3).map((i) => `${i.path.length ? `${path(i.path)}: ` : ''}${what(i)}`);
  if (error.issues.length > 3) shown.push(`and ${error.issues.length - 3} more`);
  return shown.join('; ');
}

/** Parses JSON text against a schema; anything wrong is a RangeError naming the file, the path and the problem. */
export function parseJsonFile<T>(text: string, schema: z.ZodType<T>, name: string): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new RangeError(`${name} is not JSON (${(e as Error).message})`);
  }
  const r = schema.safeParse(json);
  if (!r.success) throw new RangeError(`${name}: ${describeIssues(r.error)}`);
  return r.data;
}
