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
