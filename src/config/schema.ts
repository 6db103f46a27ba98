// The one schema of a training config (TrainConfig): every key, its type, range or choices and a line of help.
// It validates configs (validateTrainConfig, and the parts of it that data, optimizers, schedules and tracking
// check on their own), is printed as JSON Schema by `catapult schema`, and types the lab's form. What a
// schema cannot say is checked in code beside it: rules across fields (below), and a model's shapes against
// its data (src/nn/models.ts builds the graph). Errors name the dotted key, what is allowed and what was given.
import { z } from 'zod';
import { trackingSchema } from '../track/registry.ts';
import { choice, finite, integer } from '../util/schema-fields.ts';
import { objectSchemaAt, type Schema } from './check.ts';
import { dataSchema, modelSchema, optimizerSchema, scheduleSchema } from './parts.ts';

export { checkConfigPart } from './check.ts';
export { dataSchema, modelSchema, optimizerSchema, scheduleSchema, trackingSchema };

export const trainConfigSchema = z
  .strictObject({
    data: dataSchema,
    model: modelSchema,
    loss: choice(['mse', 'cross-entropy'], 'MSE (1/b)‖f − y‖², or mean softmax cross-entropy'),
    optimizer: optimizerSchema,
    schedule: scheduleSchema,
    lrUnit: choice(['absolute', 'eta-crit', 'example-eta-crit'], 'the unit of every rate: absolute, or multiples of η_crit at initialization').optional(),
    batchSize: z.union([z.literal('full'), integer(1, 'examples per step')], { error: () => 'must be an integer >= 1 or "full"' }).describe('examples per step; "full" is gradient descent'),
    microBatch: integer(1, 'examples per forward/backward pass').optional(),
    steps: integer(0, 'updates to make'),
    stopAtLoss: finite('stop once the training loss falls below this', { above: 0 }).optional(),
    divergeAbove: finite('a loss above this ends the run as diverged (default 1e8)', { above: 0 }).optional(),
    evalEvery: integer(0, 'evaluate every this many steps (0: at the end only)').optional(),
    readbackEvery: integer(1, 'read the metrics back every this many steps').optional(),
    tracking: trackingSchema.optional(),
    seed: integer(0, 'the run\'s seed (data, initialization, batch order)', 0xffffffff),
  })
  .describe('a catapult-lab training run (README: "Training configs")');

/** The schema as JSON Schema (draft 2020-12), for editors: `catapult schema`. */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(trainConfigSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
}

/** What the lab's form needs to know of one field: its choices, or its numeric range, and its line of help. */
export interface FieldSpec {
  help: string;
  choices?: string[];
  number?: { integer: boolean; min?: number; max?: number };
}

/** The discriminated union whose tag a dotted key is (data.kind, model.kind, optimizer.name, schedule….kind), or null. */
function tagUnion(key: string): z.ZodDiscriminatedUnion | null {
  if (key === 'data.kind') return dataSchema as unknown as z.ZodDiscriminatedUnion;
  if (key === 'model.kind') return modelSchema as unknown as z.ZodDiscriminatedUnion;
  if (key === 'optimizer.name') return optimizerSchema as unknown as z.ZodDiscriminatedUnion;
  if (/^schedule(\.schedule)*\.kind$/.test(key)) return (scheduleSchema as unknown as z.ZodLazy).def.getter() as unknown as z.ZodDiscriminatedUnion;
  return null;
}

/** The spec of the field at a dotted key of a config (its kind tags followed), or null if the key is none. */
export function describeField(config: unknown, key: string): FieldSpec | null {
  const path = key.split('.');
  const parent = objectSchemaAt(trainConfigSchema, config, path.slice(0, -1));
  let field = parent?.shape[path[path.length - 1]] as Schema | undefined;
  if (!field) return null;
  const help = field.description ?? '';
  while (field instanceof z.ZodOptional || field instanceof z.ZodDefault) field = field.def.innerType as Schema;
  const described = help || field.description || '';
  // A kind or name tag: its choices are its union's (changing it changes which keys the object takes).
  const union = tagUnion(key);
  if (union) {
    const tagOf = (o: unknown) => {
      const tag = (o as z.ZodObject).shape[union.def.discriminator] as Schema;
      return String(((tag instanceof z.ZodOptional ? tag.def.innerType : tag) as z.ZodLiteral).def.values[0]);
    };
    return { help: union.description ?? scheduleSchema.description ?? '', choices: union.options.map(tagOf) };
  }
  if (field instanceof z.ZodEnum) return { help: described, choices: field.options.map(String) };
  if (field instanceof z.ZodNumber) {
    const min = field.minValue ?? undefined;
    const max = field.maxValue ?? undefined;
    return { help: described, number: { integer: field.isInt, ...(min !== null && min !== undefined && Number.isFinite(min) ? { min } : {}), ...(max !== null && max !== undefined && Number.isFinite(max) && max < Number.MAX_SAFE_INTEGER ? { max } : {}) } };
  }
  return { help: described };
}
