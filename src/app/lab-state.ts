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

const LINK_KEYS = ['preset', 'scale', 'variant', 'seed', 'set'];

/**
 * Reads the state from a query string. What is missing falls back to the preset's own; what is there but
 * wrong (an unknown parameter, preset, scale or variant, a seed that is not one, an override without "=")
 * falls back too, and each is named in `problems` so the page can say what of the link it did not take.
 */
export function readLabState(search: string): { state: LabState; problems: string[] } {
  const q = new URLSearchParams(search);
  const problems: string[] = [];
  for (const key of new Set(q.keys())) if (!LINK_KEYS.includes(key)) problems.push(`unknown link parameter "${key}" (a link takes ${LINK_KEYS.join(', ')})`);
  const presetName = q.get('preset') ?? DEFAULT_PRESET;
  const preset = PRESETS.find((p) => p.name === presetName);
  if (!preset) problems.push(`preset "${presetName}" is not one of the presets; showing ${DEFAULT_PRESET}`);
  const scale = q.get('scale') ?? 'quick';
  if (!SCALES.includes(scale as Scale)) problems.push(`scale "${scale}" is not one of ${SCALES.join(', ')}; showing quick`);
  const seedText = q.get('seed');
  const seedOk = seedText !== null && /^\d{1,10}$/.test(seedText) && Number(seedText) <= 2 ** 32 - 1;
  if (seedText !== null && !seedOk) problems.push(`seed "${seedText}" is not a seed (an integer from 0 to ${2 ** 32 - 1}); using 0`);
  const set: [string, string][] = [];
  for (const item of q.getAll('set')) {
    const i = item.indexOf('=');
    if (i > 0) set.push([item.slice(0, i), item.slice(i + 1)]);
    else problems.push(`override "${item}" is not key=value; left out`);
  }
  const state: LabState = { preset: preset ? presetName : DEFAULT_PRESET, scale: SCALES.includes(scale as Scale) ? (scale as Scale) : 'quick', seed: seedOk ? Number(seedText) : 0, set };
  const variant = q.get('variant');
  if (variant) {
    // Own names only: "__proto__" or "toString" is no variant of any preset.
    if (preset?.variants && Object.hasOwn(preset.variants, variant)) state.variant = variant;
    else problems.push(`variant "${variant}" is not a variant of ${state.preset}${preset?.variants ? ` (its variants: ${Object.keys(preset.variants).join(', ')})` : ' (it has none)'}; left out`);
  }
  return { state, problems };
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
