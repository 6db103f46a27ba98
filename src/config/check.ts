// Checking a value against a part of the config schema, with errors as sentences: the dotted key, what it
// allows and what it got; a misspelt key names the nearest one the object takes.
import { z } from 'zod';
import { dottedPath } from '../util/schema-errors.ts';
import { nearest } from '../util/validate.ts';

export type Schema = z.ZodType;
type Path = readonly PropertyKey[];



const valueAt = (value: unknown, path: Path): unknown => path.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined), value);

/** The object schema that checks the value at `path` (following unions by their tag), or null. */
export function objectSchemaAt(schema: Schema, value: unknown, path: Path): z.ZodObject | null {
  let s: Schema = schema;
  let v = value;
  const step = (): void => {
    for (;;) {
      const def = (s as unknown as { def: { type: string; innerType?: Schema; getter?: () => Schema; options?: Schema[]; discriminator?: string } }).def;
      if (def.type === 'optional' || def.type === 'nullable' || def.type === 'default') s = def.innerType!;
      else if (def.type === 'lazy') s = def.getter!();
      else if (def.type === 'union' && def.discriminator) {
        const tag = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[def.discriminator] : undefined;
        const match = def.options!.find((o) => (o as z.ZodObject).shape[def.discriminator!].safeParse(tag).success);
        if (!match) return;
        s = match;
      } else return;
    }
  };
  step();
  for (const key of path) {
    if (s instanceof z.ZodObject) s = s.shape[key as string] as Schema;
    else if (s instanceof z.ZodArray) s = s.element as Schema;
    else if (s instanceof z.ZodTuple) s = s.def.items[key as number] as Schema;
    else return null;
    if (!s) return null;
    v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[key] : undefined;
    step();
  }
  return s instanceof z.ZodObject ? s : null;
}

/** The name of an object in messages: its dotted key, with its kind or name where it has one ("optimizer (gd)"). */
function objectLabel(base: string, value: unknown, path: Path): string {
  const v = valueAt(value, path) as Record<string, unknown> | undefined;
  const tag = v && typeof v === 'object' ? (typeof v.kind === 'string' ? v.kind : typeof v.name === 'string' ? v.name : path[path.length - 1] === 'model' ? 'fcn' : null) : null;
  const name = dottedPath(base, path) || 'config';
  return tag ? `${name} (${tag})` : name;
}

/** One zod problem as our sentence: the key, what it allows, what it got. */
function sentence(issue: z.core.$ZodIssue, schema: Schema, value: unknown, base: string): string {
  const got = valueAt(value, issue.path);
  const key = dottedPath(base, issue.path) || 'config';
  switch (issue.code) {
    case 'unrecognized_keys': {
      const label = objectLabel(base, value, issue.path);
      const allowed = Object.keys(objectSchemaAt(schema, value, issue.path)?.shape ?? {});
      const unknown = issue.keys[0];
      const near = nearest(unknown, allowed);
      return `${label}: unknown key "${unknown}"${near ? ` (did you mean "${near}"?)` : ''}; ${label} takes ${allowed.join(', ')}`;
    }
    case 'invalid_union':
      if ('discriminator' in issue && issue.discriminator) {
        const tagPath = issue.path[issue.path.length - 1] === issue.discriminator ? issue.path : [...issue.path, issue.discriminator];
        const parent = valueAt(value, tagPath.slice(0, -1));
        if (parent === null || typeof parent !== 'object' || Array.isArray(parent)) return `${dottedPath(base, tagPath.slice(0, -1)) || 'config'} must be an object, got ${JSON.stringify(parent)}`;
        const options = ((issue as { options?: unknown[] }).options ?? []).filter((o) => typeof o === 'string');
        return `${dottedPath(base, tagPath)} must be one of ${options.join(', ')}; got ${JSON.stringify(valueAt(value, tagPath))}`;
      }
      return `${key} ${issue.message}, got ${JSON.stringify(got)}`;
    case 'invalid_value':
      return `${key} ${issue.message}; got ${JSON.stringify(got)}`;
    default:
      if (got === undefined && issue.code === 'invalid_type') return `${key} must be given (${issue.message.replace(/^must be /, '')})`;
      if (issue.code === 'invalid_type' && issue.expected === 'object') return `${key} must be an object, got ${JSON.stringify(got)}`;
      return `${key} ${issue.message}, got ${JSON.stringify(got)}`;
  }
}

/** Checks a value against a part of the schema; the first problem is a RangeError naming the key (under `base`). */
export function checkConfigPart(schema: Schema, value: unknown, base: string): void {
  const r = schema.safeParse(value);
  if (r.success) return;
  // Unknown keys first: a misspelt key explains the "missing" one it was meant to be.
  const first = r.error.issues.find((i) => i.code === 'unrecognized_keys') ?? r.error.issues[0];
  throw new RangeError(sentence(first, schema, value, base));
}
