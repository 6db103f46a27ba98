// The config editor's model: a preset's config as a flat list of fields (dotted keys, as `--set` takes
// them), and the check that turns the user's edits into a validated config or an error naming the field.
import { parseValue, resolvePreset, setKey, type Scale } from '../run/presets.ts';
import { validateTrainConfig, type TrainConfig } from '../run/train.ts';
import { describeField, type FieldSpec } from '../config/schema.ts';
import type { LabState } from './lab-state.ts';

export interface ConfigField {
  key: string;
  /** The value as the editor shows it: numbers and words as they are, lists comma-separated, else JSON. */
  text: string;
  /** From the config's schema: the field's choices or numeric range, and its line of help. */
  spec: FieldSpec | null;
}

function fieldText(v: unknown): string {
  if (Array.isArray(v) && v.every((x) => typeof x === 'number' || typeof x === 'string')) return v.join(', ');
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return String(v);
}

/** Every leaf of the config; lists of numbers stay one field, lists of lists (schedule changes) are JSON. */
export function configFields(config: TrainConfig): ConfigField[] {
  const out: ConfigField[] = [];
  const walk = (node: unknown, prefix: string) => {
    if (typeof node === 'object' && node !== null && !Array.isArray(node)) {
      for (const [k, v] of Object.entries(node)) walk(v, prefix ? `${prefix}.${k}` : k);
    } else out.push({ key: prefix, text: fieldText(node), spec: describeField(config, prefix) });
  };
  walk(config, '');
  return out.filter((f) => f.key !== 'seed');
}

export type ConfigCheck = { ok: true; config: TrainConfig } | { ok: false; key: string | null; message: string };

/**
 * The preset's config with the state's overrides and seed, validated. An error names the field it is about
 * (the override that failed to parse, or the key the validator's message names) and what is allowed.
 */
export function checkLabConfig(state: LabState, trainSize?: number): ConfigCheck {
  let config: TrainConfig;
  try {
    config = resolvePreset(state.preset, { scale: state.scale as Scale, variant: state.variant });
  } catch (e) {
    return { ok: false, key: null, message: (e as Error).message };
  }
  const keys = configFields(config).map((f) => f.key);
  for (const [key, text] of state.set) {
    try {
      config = setKey(config, key, parseValue(text));
    } catch (e) {
      return { ok: false, key, message: `${key}: ${(e as Error).message}` };
    }
  }
  if (!Number.isInteger(state.seed) || state.seed < 0 || state.seed > 0xffffffff) {
    return { ok: false, key: 'seed', message: `seed must be an integer in 0..${0xffffffff}, got ${state.seed}` };
  }
  config = { ...config, seed: state.seed };
  try {
    validateTrainConfig(config);
    if (trainSize !== undefined && typeof config.batchSize === 'number' && config.batchSize > trainSize) {
      throw new RangeError(`batchSize ${config.batchSize} is larger than the training set (${trainSize})`);
    }
  } catch (e) {
    const message = (e as Error).message;
    return { ok: false, key: fieldNamedIn(message, [...keys, ...state.set.map(([k]) => k)]), message };
  }
  return { ok: true, config };
}

/** The longest field key a message mentions (validators name the dotted key first), or null. */
export function fieldNamedIn(message: string, keys: string[]): string | null {
  const named = [...new Set(keys)].filter((k) => new RegExp(`(^|[^\\w.])${k.replace(/\./g, '\\.')}(?![\\w])`).test(message));
  named.sort((a, b) => b.length - a.length);
  return named[0] ?? null;
}
