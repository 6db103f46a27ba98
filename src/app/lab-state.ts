// What the lab's URL holds: preset, scale, variant, seed and the overrides, so a shared link reproduces the
// run. Overrides are kept as the text the user typed (the same key=value form as `catapult run --set`).
import { PRESETS, SCALES, type Scale } from '../run/presets.ts';

export interface LabState {
  preset: string;
  scale: Scale;
  variant?: string;
  seed: number;
  /** [dotted key, value text] in the order they were set. */
  set: [string, string][];
}

export const DEFAULT_PRESET = 'gd-catapult';

/** Reads the state from a query string; anything missing or unreadable falls back to the preset's own. */
export function readLabState(search: string): LabState {
  const q = new URLSearchParams(search);
  const preset = q.get('preset') ?? DEFAULT_PRESET;
  const scale = (q.get('scale') ?? 'quick') as Scale;
  const seedText = q.get('seed');
  const set: [string, string][] = [];
  for (const item of q.getAll('set')) {
    const i = item.indexOf('=');
    if (i > 0) set.push([item.slice(0, i), item.slice(i + 1)]);
  }
  const state: LabState = {
    preset: PRESETS.some((p) => p.name === preset) ? preset : DEFAULT_PRESET,
    scale: SCALES.includes(scale) ? scale : 'quick',
    seed: seedText !== null && /^\d+$/.test(seedText) ? Number(seedText) : 0,
    set,
  };
  const variant = q.get('variant');
  if (variant) state.variant = variant;
  return state;
}

/** The query string for a state ('?preset=…&scale=…&seed=…&set=key%3Dvalue…'). */
export function labStateQuery(state: LabState): string {
  const q = new URLSearchParams();
  q.set('preset', state.preset);
  q.set('scale', state.scale);
  if (state.variant) q.set('variant', state.variant);
  q.set('seed', String(state.seed));
  for (const [k, v] of state.set) q.append('set', `${k}=${v}`);
  return `?${q.toString()}`;
}
