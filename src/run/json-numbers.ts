// JSON that keeps NaN, +Infinity and −Infinity apart. JSON has no such numbers and JSON.stringify writes all
// three as null, so a diverged loss (Infinity) would read back as a missing one. Every file the lab writes
// (metrics.jsonl, summary.json, aggregate.json, lab exports) writes them as the strings "NaN", "Infinity"
// and "-Infinity" instead: still plain JSON, and `float("Infinity")`/`Number("Infinity")` read them back.
import { z } from 'zod';

const NON_FINITE = ['NaN', 'Infinity', '-Infinity'] as const;

/** JSON.stringify with each non-finite number written as "NaN", "Infinity" or "-Infinity". */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_key, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), indent);
}

/**
 * A measured number as toJson writes it: a finite number, or one of the three strings, read back as the
 * number it stands for. null, what files from before this format hold for all three, reads as NaN.
 */
export const measured = z.union([z.number(), z.enum(NON_FINITE).transform(Number), z.null().transform(() => NaN)], {
  error: 'must be a number (or "NaN", "Infinity", "-Infinity")',
});

/** A zod error as one line: each problem's path (a.b[2].c) and what was wrong. */
export function describeIssues(error: z.ZodError): string {
  const path = (p: PropertyKey[]) => p.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('').replace(/^\./, '');
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
