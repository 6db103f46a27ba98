// The parts of a training config's schema below tracking (whose parts are the probes', src/track/registry.ts):
// the data, the model, the optimizer and the schedule, each key with its type, range or choices and a line of
// help. The modules that build each part check it against its schema here (src/config/check.ts).
import { z } from 'zod';
import { bias, choice, finite, flag, idxFile, integer, rate, text } from '../util/schema-fields.ts';

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
    z.strictObject({ kind: z.literal('cifar10'), files: z.union([text('a CIFAR-10 binary batch (path or URL)'), z.array(text('a CIFAR-10 binary batch (path or URL)'), { error: () => 'must list the CIFAR-10 binary batch files' }).min(1, { error: () => 'must list the CIFAR-10 binary batch files, e.g. ["cifar-10-batches-bin/data_batch_1.bin"]' })], { error: () => 'must be a CIFAR-10 binary batch file or a list of them' }), ...imageData }),
    z.strictObject({ kind: z.literal('photos'), ...imageData }).describe('the bundled CIFAR-like set: 32×32×3 crops of public-domain and CC0 photos, classes 7 and 9 (data/photos-cifar2.json)'),
  ],
  { error: () => 'must be one of synthetic, sphere, mnist, arrays, cifar10, photos' },
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
    z.strictObject({ kind: z.literal('cnn'), ...common, depth: integer(2, 'layers: depth − 1 convolutions and the linear output').optional(), channels: width('channels of every convolution'), kernel: width('kernel size').optional(), stride: width('stride').optional(), padding: integer(0, 'zero padding').optional(), bias: bias('β of every layer\'s bias').optional(), outputBias: bias('β of the linear output\'s bias, where it differs from bias').optional() }),
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
