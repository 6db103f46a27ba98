// Comparing runs: a short name and a colour that a run keeps on every chart, the config values in which
// the runs differ, and the runs table's order. Host-neutral (tested in Node).
import { PALETTE } from '../charts/figure.ts';

/** Run k's colour (k from 1): the palette in turn, so the runs a user compares first get the most distinct ones. */
export const runColor = (k: number): string => PALETTE[(k - 1) % PALETTE.length];

/** A short name for legends: the run's number, preset, variant and seed, e.g. "#3 gd-catapult s1". */
export const shortName = (k: number, preset: string, seed: number, variant?: string | null): string => `#${k} ${preset}${variant ? `/${variant}` : ''} s${seed}`;

/** Every leaf of a config under its dotted key; an array is one value (as the config editor shows it). */
function leaves(value: unknown, prefix: string, out: Map<string, string>): Map<string, string> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) leaves(v, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, JSON.stringify(value));
  return out;
}

/**
 * For each config, the "key=value" of each leaf in which the configs are not all equal (a key one config
 * lacks shows as "key=—" there). With one config there is nothing to differ in.
 */
export function configDifferences(configs: unknown[]): string[][] {
  const flat = configs.map((c) => leaves(c, '', new Map()));
  const keys = [...new Set(flat.flatMap((f) => [...f.keys()]))].sort();
  const differing = keys.filter((k) => new Set(flat.map((f) => f.get(k) ?? '—')).size > 1);
  return flat.map((f) => differing.map((k) => `${k}=${f.get(k) ?? '—'}`));
}

export type SortValue = string | number | null;

/** Rows sorted by one column: numbers as numbers, text as text, empty cells last in either direction. */
export function sortRows<T>(rows: T[], value: (row: T) => SortValue, descending: boolean): T[] {
  return rows
    .map((row, i) => ({ row, i, v: value(row) }))
    .sort((a, b) => {
      if (a.v === null || b.v === null) return a.v === b.v ? a.i - b.i : a.v === null ? 1 : -1;
      const c = typeof a.v === 'number' && typeof b.v === 'number' ? a.v - b.v : String(a.v).localeCompare(String(b.v), undefined, { numeric: true });
      return (descending ? -c : c) || a.i - b.i;
    })
    .map((x) => x.row);
}
