// The one schema of a training config (TrainConfig): every key, its type, range or choices and a line of help.
// It validates configs (validateTrainConfig, and the parts of it that data, optimizers, schedules and tracking
// check on their own), is printed as JSON Schema by `catapult schema`, and types the lab's form. What a
// schema cannot say is checked in code beside it: rules across fields (below), and a model's shapes against
// its data (src/nn/models.ts builds the graph). Errors name the dotted key, what is allowed and what was given.
import { z } from 'zod';
import { dottedPath } from '../util/schema-errors.ts';
import { nearest } from '../util/validate.ts';

// --- field vocabulary: each says in its error what it allows ------------------------------------------

const integer = (min: number, help: string, max?: number, unit?: string) => {
  const allowed = `${max === undefined ? `an integer >= ${min}` : `an integer in ${min}..${max}`}${unit ? ` ${unit}` : ''}`;
  const error = () => `must be ${allowed}`;
  const n = z.number({ error }).int({ error }).min(min, { error });
  return (max === undefined ? n : n.max(max, { error })).describe(help);
};
// zod's numbers are finite already (NaN and ±Infinity fail z.number()); bounds stay in the JSON Schema.
const finite = (help: string, bound: { min?: number; above?: number; max?: number; below?: number } = {}) => {
  const parts = [bound.min !== undefined ? `>= ${bound.min}` : bound.above !== undefined ? `> ${bound.above}` : '', bound.max !== undefined ? `<= ${bound.max}` : bound.below !== undefined ? `< ${bound.below}` : ''].filter(Boolean);
  const error = () => `must be a finite number${parts.length ? ` ${parts.join(' and ')}` : ''}`;
  let n = z.number({ error });
  if (bound.min !== undefined) n = n.min(bound.min, { error });
  if (bound.above !== undefined) n = n.gt(bound.above, { error });
  if (bound.max !== undefined) n = n.max(bound.max, { error });
  if (bound.below !== undefined) n = n.lt(bound.below, { error });
  return n.describe(help);
};
const choice = <T extends readonly [string, ...string[]]>(values: T, help: string) => z.enum(values, { error: () => `must be one of ${values.join(', ')}` }).describe(help);
const flag = (help: string) => z.boolean({ error: () => 'must be true or false' }).describe(help);
const text = (help: string, what = 'a text') => z.string({ error: () => `must be ${what}` }).min(1, { error: () => `must be ${what}, not empty` }).describe(help);
const idxFile = (help: string) => text(help, 'the path or URL of an IDX file (gzip or raw)');
const rate = (help: string) => finite(help, { min: 0 });
const bias = (help: string) => finite(`${help}; 0 means none`, { min: 0 });

// --- the parts of a config ----------------------------------------------------------------------------

const splits = {
  train: integer(1, 'training examples'),
  val: integer(0, 'validation examples (0: none)').optional(),
  test: integer(0, 'test examples (0: none)').optional(),
};
const imageData = {
  ...splits,
  classes: z.array(integer(0, 'a class label', 255), { error: () => 'must be a list of class labels' }).describe('classes to keep, in the order that numbers them; all ten by default').optional(),
  targets: choice(['one-hot', 'pm1'], 'target coding: one-hot, or ±1 for two classes').optional(),
  downsample: integer(1, 'average the images over f×f blocks first (2: 28×28 → 14×14)').optional(),
};
export const dataSchema = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ kind: z.literal('synthetic'), task: choice(['rank-2', 'rank-3', 'rank-4', 'full-rank'], 'the paper\'s target function'), d: integer(1, 'input dimension'), ...splits, noise: finite('label noise σ', { min: 0 }).optional() }),
    z.strictObject({ kind: z.literal('sphere'), n: integer(1, 'examples on the unit sphere'), d: integer(1, 'input dimension'), scaledIndex: integer(0, 'the example whose input and label are scaled').optional(), scale: finite('the scale of that example', { above: 0 }).optional() }),
    z.strictObject({ kind: z.literal('mnist'), ...imageData, images: idxFile('IDX image file (path or URL, gzip or raw); the bundled digits by default').optional(), labels: idxFile('IDX label file (path or URL, gzip or raw)').optional() }),
    z.strictObject({ kind: z.literal('arrays'), x: text('the inputs: a .npy file of shape [N, …] (float32, float64 or integers), one example per row', 'the path of a .npy file'), y: text('the targets: a .npy file of shape [N] or [N, k]', 'the path of a .npy file'), ...splits }),
    z.strictObject({ kind: z.literal('cifar10'), files: z.array(text('a CIFAR-10 binary batch (path or URL)'), { error: () => 'must list the CIFAR-10 binary batch files' }).min(1, { error: () => 'must list the CIFAR-10 binary batch files, e.g. ["cifar-10-batches-bin/data_batch_1.bin"]' }), ...imageData }),
  ],
  { error: () => 'must be one of synthetic, sphere, mnist, arrays, cifar10' },
).describe('the data set');

const common = {
  parameterization: choice(['ntk', 'standard'], 'NTK (c = 1/sqrt(fan_in), N(0, σ²) weights) or PyTorch\'s standard').optional(),
  sigma: finite('σ of the initial weights (NTK parameterization)', { above: 0 }).optional(),
  frozen: z.array(integer(0, 'a parametrized layer'), { error: () => 'must be a list of layer numbers' }).describe('parametrized layers that do not train').optional(),
};
const width = (help: string) => integer(1, help);
export const modelSchema = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ kind: z.literal('fcn').optional(), ...common, hidden: z.array(width('a hidden layer\'s width'), { error: () => 'must be a list of widths' }).describe('widths of the hidden layers'), hiddenBias: bias('β of the hidden layers\' biases').optional(), outputBias: bias('β of the output layer\'s bias').optional() }),
    z.strictObject({ kind: z.literal('cnn'), ...common, depth: integer(2, 'layers: depth − 1 convolutions and the linear output').optional(), channels: width('channels of every convolution'), kernel: width('kernel size').optional(), stride: width('stride').optional(), padding: integer(0, 'zero padding').optional(), bias: bias('β of every layer\'s bias').optional() }),
    z.strictObject({ kind: z.literal('myrtle'), ...common, depth: integer(5, 'Myrtle-5, -7 or -10'), channels: width('channels of the first group'), bias: bias('β of every layer\'s bias').optional() }),
    z.strictObject({ kind: z.literal('wrn'), ...common, depth: integer(10, 'layers, 6N + 4'), widen: width('the widening factor k'), bias: bias('β of every layer\'s bias').optional() }),
    z.strictObject({ kind: z.literal('vit'), ...common, dim: width('the token width'), patch: width('side of the square patches').optional(), depth: width('transformer blocks').optional(), heads: width('attention heads (dim must be a multiple)').optional(), mlpRatio: finite('the MLP\'s hidden width over dim', { above: 0 }).optional(), bias: bias('β of every linear map\'s bias').optional() }),
    // A graph's layers are checked layer by layer, with their shapes, where the graph is built (models.ts).
    z.strictObject({ kind: z.literal('onnx'), file: text('the .onnx file (torch.onnx.export\'s output), a path relative to the working folder', 'the path of an .onnx file'), parameterization: choice(['standard', 'ntk'], 'standard (default): the weights and the function as exported; ntk: the same function at the start, with c = 1/sqrt(fan_in) in every linear and convolution layer').optional() }),
    z.strictObject({ kind: z.literal('graph'), ...common, layers: z.array(z.record(z.string(), z.unknown()), { error: () => 'must be a non-empty list of layers' }).min(1, { error: () => 'must be a non-empty list of layers, e.g. [{"type": "conv2d", "out": 16, "kernel": 3}, {"type": "relu"}, ...]' }).describe('the Sequential\'s modules in order') }),
  ],
  { error: () => 'must be one of fcn, cnn, myrtle, wrn, vit, onnx, graph' },
).describe('the network');

const decay = finite('L2 weight decay', { min: 0 }).optional();
const eps = finite('ε added to the denominator', { min: 0 }).optional();
export const optimizerSchema = z.discriminatedUnion(
  'name',
  [
    z.strictObject({ name: z.literal('gd'), weightDecay: decay }),
    z.strictObject({ name: z.literal('sgd'), weightDecay: decay, momentum: finite('momentum', { min: 0 }).optional(), dampening: finite('dampening of the momentum', { min: 0 }).optional(), nesterov: flag('Nesterov momentum').optional() }),
    z.strictObject({ name: z.literal('rmsprop'), weightDecay: decay, momentum: finite('momentum', { min: 0 }).optional(), alpha: finite('smoothing constant', { min: 0, max: 1 }).optional(), centered: flag('centered RMSprop').optional(), eps }),
    z.strictObject({ name: z.literal('adagrad'), weightDecay: decay, lrDecay: finite('learning-rate decay', { min: 0 }).optional(), initialAccumulatorValue: finite('initial value of the sum of squares', { min: 0 }).optional(), eps }),
    z.strictObject({ name: z.literal('adadelta'), weightDecay: decay, rho: finite('smoothing constant', { min: 0, max: 1 }).optional(), eps }),
    z.strictObject({ name: z.literal('adam'), weightDecay: decay, betas: z.tuple([finite('β1', { min: 0, below: 1 }), finite('β2', { min: 0, below: 1 })], { error: () => 'must be two numbers in [0, 1) (β1, β2)' }).describe('β1, β2').optional(), eps, amsgrad: flag('AMSGrad').optional() }),
  ],
  { error: () => 'must be one of gd, sgd, rmsprop, adagrad, adadelta, adam' },
).describe('the optimizer (torch.optim\'s hyperparameter names)');

const stepIndex = integer(0, 'a step');
export type ScheduleInput = z.input<typeof scheduleSchema>;
export const scheduleSchema: z.ZodType = z.lazy(() =>
  z.discriminatedUnion(
    'kind',
    [
      z.strictObject({ kind: z.literal('constant'), lr: rate('the learning rate') }),
      z.strictObject({ kind: z.literal('piecewise'), lr: rate('the rate until the first change'), changes: z.array(z.tuple([stepIndex, rate('its rate')]), { error: () => 'must be a list of [step, lr] pairs' }).describe('[step, lr] pairs: from each step on, its rate') }),
      z.strictObject({ kind: z.literal('cyclic'), base: rate('the lowest rate'), max: rate('the highest rate'), period: integer(2, 'steps per cycle', undefined, 'steps') }),
      z.strictObject({ kind: z.literal('exp-cyclic'), base: rate('the lowest rate'), max: rate('the highest rate'), period: integer(2, 'steps per cycle', undefined, 'steps'), gamma: finite('the amplitude\'s factor per cycle', { above: 0, max: 1 }) }),
      z.strictObject({ kind: z.literal('decay'), schedule: scheduleSchema, at: z.array(stepIndex, { error: () => 'must be a list of steps' }).describe('steps at which the rate is multiplied by factor'), factor: finite('the factor', { above: 0 }) }),
      z.strictObject({
        kind: z.literal('eta-crit'),
        of: choice(['set', 'batch'], 'whose live η_crit = n/λ_max the rate follows: the tracked set\'s, or each step\'s batch'),
        factor: finite('the rate before the first raise, as a multiple of the live η_crit', { above: 0 }),
        raises: z.array(z.tuple([stepIndex, finite('its multiple of the live η_crit', { above: 0 })]), { error: () => 'must be a list of [step, factor] pairs' }).describe('[step, factor] pairs: at each step the rate is raised to factor·η_crit and held there until the catapult is over').optional(),
        after: finite('after each catapult, the rate as a multiple of the live η_crit (default: factor)', { above: 0 }).optional(),
        maxHold: integer(1, 'the most steps a raised rate is held (default 50)', undefined, 'steps').optional(),
      }),
    ],
    { error: () => 'must be one of constant, piecewise, cyclic, exp-cyclic, decay, eta-crit' },
  ),
).describe('the learning-rate schedule');

const every = integer(1, 'every this many steps').optional();
const iterations = integer(1, 'power-iteration steps').optional();
export const trackingSchema = z
  .strictObject({
    batch: z
      .strictObject(
        {
          every,
          iterations,
          method: choice(['auto', 'structured', 'matrix-free'], 'how the batch NTK is applied').optional(),
          solver: choice(['auto', 'exact', 'power'], 'exact: the formed batch NTK read back and solved in float64 to a relative residual of 1e-6; power: warm-started power iterations on the GPU; auto: exact up to 256 rows').optional(),
        },
        { error: () => 'must be an object' },
      )
      .describe('λ_max and η_crit of each step\'s batch')
      .optional(),
    set: z
      .strictObject(
        {
          examples: integer(1, 'examples of the fixed tracked set'),
          every,
          iterations,
          method: choice(['auto', 'gram', 'matrix-free'], 'the NTK formed (gram) or as products (matrix-free)').optional(),
          chunk: integer(64, 'examples per matrix-free chunk, a multiple of 64').refine((v) => v % 64 === 0, { error: () => 'must be a positive multiple of 64 examples' }).optional(),
        },
        { error: () => 'must be an object' },
      )
      .describe('λ_max, the loss split and eigenvectors of a fixed set').optional(),
    agop: z.strictObject({ every, reference: text('a reference checkpoint (.safetensors) for real data').optional() }, { error: () => 'must be an object' }).describe('AGOP alignment on the tracked set').optional(),
    hessian: z.strictObject({ every, iterations }, { error: () => 'must be an object' }).describe('λ_max of the batch loss\'s Hessian').optional(),
    spectrum: z.strictObject({ top: integer(1, 'eigenvalues to track', 10), every, iterations: integer(1, 'Lanczos iterations').optional() }, { error: () => 'must be an object' }).describe('the top eigenvalues, λ_min and the condition number of the set').optional(),
    adagrad: z.strictObject({ every }, { error: () => 'must be an object' }).describe('AdaGrad\'s s_t and its bound').optional(),
    preconditioned: z
      .strictObject(
        { every, iterations, solver: choice(['auto', 'exact', 'power'], 'exact: J·P·Jᵀ formed column by column and solved in float64; power: power iterations on the GPU; auto: exact up to 64 rows').optional() },
        { error: () => 'must be an object' },
      )
      .describe('λ_max of J·P·Jᵀ for the adaptive optimizer\'s preconditioner P, and its critical rate')
      .optional(),
    tolerance: finite('relative residual ‖Kv − λv‖/λ above which a tracked eigenvalue is marked not converged (default 1e-3)', { above: 0, below: 1 }).optional(),
  }, { error: () => 'must be an object' })
  .describe('spectral tracking during training');

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

// --- checking -------------------------------------------------------------------------------------------

type Schema = z.ZodType;
type Path = readonly PropertyKey[];



const valueAt = (value: unknown, path: Path): unknown => path.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined), value);

/** The object schema that checks the value at `path` (following unions by their tag), or null. */
function objectSchemaAt(schema: Schema, value: unknown, path: Path): z.ZodObject | null {
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
