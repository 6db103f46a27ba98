// The vocabulary of config fields: each kind of field says in its errors what it allows, and carries its
// line of help for `catapult schema` and the lab's form. Every part of the config schema is written in it
// (src/config/schema.ts, and each probe's part of tracking in src/track/probes/).
import { z } from 'zod';

export const integer = (min: number, help: string, max?: number, unit?: string) => {
  const allowed = `${max === undefined ? `an integer >= ${min}` : `an integer in ${min}..${max}`}${unit ? ` ${unit}` : ''}`;
  const error = () => `must be ${allowed}`;
  const n = z.number({ error }).int({ error }).min(min, { error });
  return (max === undefined ? n : n.max(max, { error })).describe(help);
};
// zod's numbers are finite already (NaN and ±Infinity fail z.number()); bounds stay in the JSON Schema.
export const finite = (help: string, bound: { min?: number; above?: number; max?: number; below?: number } = {}) => {
  const parts = [bound.min !== undefined ? `>= ${bound.min}` : bound.above !== undefined ? `> ${bound.above}` : '', bound.max !== undefined ? `<= ${bound.max}` : bound.below !== undefined ? `< ${bound.below}` : ''].filter(Boolean);
  const error = () => `must be a finite number${parts.length ? ` ${parts.join(' and ')}` : ''}`;
  let n = z.number({ error });
  if (bound.min !== undefined) n = n.min(bound.min, { error });
  if (bound.above !== undefined) n = n.gt(bound.above, { error });
  if (bound.max !== undefined) n = n.max(bound.max, { error });
  if (bound.below !== undefined) n = n.lt(bound.below, { error });
  return n.describe(help);
};
export const choice = <const T extends readonly [string, ...string[]]>(values: T, help: string) => z.enum(values, { error: () => `must be one of ${values.join(', ')}` }).describe(help);
export const flag = (help: string) => z.boolean({ error: () => 'must be true or false' }).describe(help);
export const text = (help: string, what = 'a text') => z.string({ error: () => `must be ${what}` }).min(1, { error: () => `must be ${what}, not empty` }).describe(help);
export const idxFile = (help: string) => text(help, 'the path or URL of an IDX file (gzip or raw)');
export const rate = (help: string) => finite(help, { min: 0 });
export const bias = (help: string) => finite(`${help}; 0 means none`, { min: 0 });

/** How often a tracked quantity is measured. */
export const every = () => integer(1, 'every this many steps').optional();
/** Power iterations per tracked step. */
export const powerIterations = () => integer(1, 'power-iteration steps').optional();
