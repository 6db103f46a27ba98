// Every experiment of shared/EXPERIMENTS.md as a named preset (fully connected, CNN, Wide ResNet and ViT):
// a plain TrainConfig per scale. 'quick' (the default) finishes in a few minutes on a 2-core machine
// without a GPU; 'paper' has the paper's sizes. CIFAR-2 is not bundled: those presets run on the bundled
// MNIST digits 7 and 9 (±1 targets) and say which file to pass for the paper's data.
// Rates are multiples of η_crit measured at initialization (lrUnit "eta-crit") where the paper gives
// η_crit beside its rate, so they carry over to other data and widths; elsewhere they are the paper's.
import type { TrainConfig } from './train.ts';

export type Scale = 'quick' | 'paper';
export const SCALES: readonly Scale[] = ['quick', 'paper'];

/** A headline number of a run's summary (src/run/summary.ts computes them). */
export type Headline =
  | 'matchRate'
  | 'ownBatchMatchRate'
  | 'criticalSteps'
  | 'spikes'
  | 'lambdaBefore'
  | 'lambdaAfter'
  | 'testLoss'
  | 'testAccuracy'
  | 'alignment'
  | 'finalLoss'
  | 'status'
  | 'hessianAgreement';

export interface Preset {
  name: string;
  /** The paper's figures and tables it reproduces. */
  paper: string;
  summary: string;
  config(scale: Scale): TrainConfig;
  headline: Headline[];
  /** Named override sets (dotted keys), for `sweep --grid variant=a,b`. */
  variants?: Record<string, Record<string, unknown>>;
  /** The sweep that reproduces the figure: `catapult sweep NAME` with no --grid runs this one. */
  sweep?: { grid: Record<string, (string | number)[]>; seeds: number };
  /** What differs from the paper, for `catapult show` and the report. */
  notes: string[];
  /** Where a researcher's own run came from: a config file, or an ONNX model with default settings. */
  file?: { path: string; kind: 'config' | 'onnx' };
}

/**
 * A researcher's own config as a preset: one scale (the config as it is), no variants, every headline number
 * the run measures. `name` (the file's name without its extension) names its run folder and its runs in the lab.
 */
export function ownPreset(name: string, config: TrainConfig, file: NonNullable<Preset['file']>): Preset {
  return {
    name,
    paper: file.kind === 'onnx' ? 'your ONNX model' : 'your config',
    summary: `${file.kind === 'onnx' ? 'the ONNX model' : 'the config file'} ${file.path}`,
    config: () => structuredClone(config),
    headline: [],
    notes: [],
    file,
  };
}

/** A preset by name, or the one given. */
export const presetOf = (p: string | Preset): Preset => (typeof p === 'string' ? findPreset(p) : p);

const CIFAR2_NOTE =
  'The paper uses 128 CIFAR-2 points (classes 7 and 9); this preset uses the bundled MNIST digits 7 and 9 instead. For the bundled CIFAR-like photos (32×32×3 crops of public-domain and CC0 photos, classes 7 and 9) pass --set data.kind=photos; ' +
  'for CIFAR-2 itself --set data.kind=cifar10 --set data.files=data_batch_1.bin --set data.classes=7,9 (the CIFAR-10 binary batches, not bundled).';

const MATCH_NOTE =
  'Both match rates are reported (tracking.match): the total-loss rate, of the steps whose training-set loss rose (the paper\'s text), and the own-batch rate, of the steps whose batch\'s own loss rose across the step. Below η_crit(batch) a step multiplies its batch\'s residual by I − 2ηK_B/b, to first order, whose eigenvalues lie in (−1, 1]: the batch\'s own loss can then rise only at a critical step, the other points\' at any.';

const PAPER_FORM_NOTE =
  'Variants: "biased" is the paper\'s net as App. F writes it, hidden biases with every parameter N(0, 1) (β = 1 under NTK parameterization; the output layer has none); "paper-rate" is the paper\'s absolute rate; "biased-paper-rate" both.';

/** The paper's form (App. F: hidden biases) and its absolute rate, as variants of a preset. */
function paperFormVariants(biased: Record<string, unknown>, rate: number): Record<string, Record<string, unknown>> {
  const paperRate = { lrUnit: 'absolute', schedule: { lr: rate } };
  return { biased, 'paper-rate': paperRate, 'biased-paper-rate': { ...biased, ...paperRate } };
}

/** The paper's CNN biases: every convolution's, none on the linear output. */
const CNN_BIASES = { model: { bias: 1, outputBias: 0 } };

const mnist2 = (train: number, test = 500) => ({ kind: 'mnist' as const, train, test, classes: [7, 9], targets: 'pm1' as const });
const rank = (task: 'rank-2' | 'rank-3' | 'rank-4' | 'full-rank', train: number, val: number, test: number) => ({ kind: 'synthetic' as const, task, d: 100, train, val, test, noise: 0.1 });
/**
 * The presets' fully connected nets have no biases unless a variant adds them. The paper's have hidden biases
 * (App. F: ReLU(W f/sqrt(m) + b), every parameter N(0, 1)); its form is the variant "biased". Why not by
 * default: an example-independent parameter adds a near-constant block to K (an output bias the all-ones
 * matrix), which raises λ_max/n and, on rank-2, kept GD from learning the features (docs/measured.md).
 */
const fcn = (hidden: number[], extra: Record<string, unknown> = {}) => ({ hidden, hiddenBias: 0, outputBias: 0, ...extra });
const quick = (s: Scale) => s === 'quick';

/**
 * The paper's 5-layer CNN (App. F): four 3×3 convolutions with padding 1 and ReLUs, then flatten and a linear
 * output, without biases unless a variant adds them (the paper's has them on its convolutions). Quick scale: 16 channels on the digits averaged to 14×14, weights N(0, 1.6²);
 * paper: 512 channels, N(0, 1).
 *
 * Why σ = 1.6 at 16 channels: with N(0, 1) so narrow a net's output at initialization is far below the ±1
 * labels, so the first steps move its weights by O(1) of themselves and it diverges or dies at the paper's
 * rate (CNN_NOTE; docs/measured.md has the runs). A bias-free ReLU net of depth L is homogeneous, so N(0, σ²) scales its output by σ^L and a step's relative change of the weights by σ^−L at the
 * same multiple of η_crit: σ = 1.6 (σ⁵ ≈ 10) brings the output to O(1), the regime a 512-channel net is in.
 */
const cnn5 = (s: Scale) => ({ kind: 'cnn' as const, depth: 5, channels: quick(s) ? 16 : 512, ...(quick(s) ? { sigma: 1.6 } : {}) });
/** The CNN presets' data: two classes of the bundled digits, 14×14 at the quick scale, 28×28 at the paper's. */
const cnnData = (s: Scale, train = 128, test = 500) => ({ ...mnist2(train, test), ...(quick(s) ? { downsample: 2 } : {}) });
const CNN_NOTE =
  'Quick scale: a 5-layer CNN of 16 channels with weights N(0, 1.6²) on the bundled digits 7 and 9 averaged to 14×14 (data.downsample 2), minutes on 2 CPU cores; at N(0, 1) so narrow a net is far from its kernel regime (its first steps change λ_max twentyfold) and diverges at the paper\'s rate. ' +
  'Paper scale: 512 channels (CNN-5, about 7.6 M parameters on 32×32×3 images), for a GPU.';

const WRN_NOTE =
  'The Wide ResNet is built without batch normalization: in training mode it couples the examples of a batch, so the per-example NTK and η_crit = n/λ_max are not defined for it (a graph model that asks for it is refused, saying so). ' +
  'Pre-activation blocks as in Zagoruyko & Komodakis\' reference code, a 1×1 convolution as the shortcut where the shape changes. Quick scale: widen 1 (16/32/64 channels, 76 k parameters) with weights N(0, 1.6²) on the digits averaged to 14×14, minutes on 2 CPU cores. At N(0, 1) so narrow a bias-free ReLU net starts with outputs near 0 (loss 1.00 against ±1 labels; measured, 60 steps): its λ_max swung 2.5 → 7.7 → 0.07 in four steps and after a spike at step 16 fell to 0.004 with every unit off and the loss stuck at 1.0; at σ = 1.6 the output is O(1) (loss 1.56 at init), as a wide net\'s. Paper scale: widen 10 (7.4 M parameters on 32×32×3 images), for a GPU.';

const VIT_NOTE =
  'The paper names its net ViT-4 and no more; here it is 4 pre-norm blocks (layer norm, multi-head self-attention, GELU MLP of 2 × the width), learned position embeddings, no class token (the mean over tokens feeds the head). ' +
  'Quick scale: width 32, 2 heads, 2×2 patches of the digits averaged to 14×14 (49 tokens), 35 k parameters; paper scale: width 256, 8 heads, 4×4 patches (49 tokens on 28×28 digits, 64 on CIFAR\'s 32×32), 2.1 M parameters, for a GPU. ' +
  'No biases in the linear maps (layer norm keeps its shift), as the fully connected presets: an example-independent parameter adds a near-constant block to K. Position embeddings start N(0, 0.02²) (models.ts says why not 0 or N(0, 1)). GELU is its tanh form (WGSL has no erf). Hessian tracking is refused: attention and layer norm have no second-order pass here.';

/**
 * What the CNN presets share: MSE, rates in multiples of η_crit(init), seed 0, and by default the quick/paper
 * CNN-5 on the two-class digits with full-batch GD; each preset gives its schedule, steps and tracking.
 */
const cnnRun = (s: Scale, own: Partial<TrainConfig> & Pick<TrainConfig, 'schedule' | 'steps'>): TrainConfig => ({
  data: cnnData(s),
  model: cnn5(s),
  loss: 'mse',
  optimizer: { name: 'gd' },
  lrUnit: 'eta-crit',
  batchSize: 'full',
  seed: 0,
  ...own,
});

/**
 * Fig. 7's runs: SGD at batch 32 on 128 points at a constant rate (a multiple of η_crit(init) unless
 * `lrUnit` says otherwise) until the training loss is below 1e-3, λ_max of the batch and of the set tracked.
 */
const topEigenspaceRun = (s: Scale, o: { model: TrainConfig['model']; lr: number; lrUnit?: TrainConfig['lrUnit']; quickSteps: number }): TrainConfig =>
  cnnRun(s, {
    model: o.model,
    optimizer: { name: 'sgd' },
    ...(o.lrUnit ? { lrUnit: o.lrUnit } : {}),
    schedule: { kind: 'constant', lr: o.lr },
    batchSize: 32,
    steps: quick(s) ? o.quickSteps : 1000,
    stopAtLoss: 1e-3,
    evalEvery: 5,
    tracking: { batch: { iterations: 20 }, set: { examples: 128, iterations: 20 }, match: {} },
  });

/** GD on 128 points at `lr` × η_crit(init), with the set's NTK, its top-s spectrum and the loss split every step. */
function gdCatapultConfig(s: Scale, schedule: TrainConfig['schedule'], top: number, steps: number): TrainConfig {
  const n = 128;
  return {
    data: quick(s) ? rank('rank-2', n, 0, 500) : mnist2(n),
    model: fcn(quick(s) ? [1024] : [1024, 1024, 1024, 1024]),
    loss: 'mse',
    optimizer: { name: 'gd' },
    schedule,
    lrUnit: 'eta-crit',
    batchSize: 'full',
    steps,
    evalEvery: 10,
    tracking: { set: { examples: n, iterations: 20 }, spectrum: { top, iterations: 40 } },
    seed: 0,
  };
}

function multiSchedule(s: Scale): TrainConfig['schedule'] {
  return quick(s)
    ? { kind: 'piecewise', lr: 1.5, changes: [[15, 6], [60, 16]] }
    : { kind: 'piecewise', lr: 6 / 3.6, changes: [[15, 10 / 3.6], [60, 15 / 3.6]] };
}

/** The synthetic generalization runs: GD with the paper's raises, test loss and AGOP alignment. */
function generalizationConfig(s: Scale, task: 'rank-2' | 'rank-3' | 'rank-4', sigma = 1): TrainConfig {
  const paperSizes = { 'rank-2': { n: 2000, hidden: [1024] }, 'rank-3': { n: 1000, hidden: [256, 256, 256] }, 'rank-4': { n: 1000, hidden: [256, 256, 256] } }[task];
  const schedules: Record<string, [number, [number, number][]]> = {
    'rank-2': [5, [[50, 8], [150, 16], [220, 30], [280, 50], [350, 75], [400, 80]]],
    'rank-3': [10, [[20, 40], [60, 100], [80, 150]]],
    'rank-4': [8, [[50, 15], [75, 40], [110, 60]]],
  };
  const [lr, changes] = schedules[task];
  const n = quick(s) ? 1000 : paperSizes.n;
  // The 4-layer nets at quick scale: width 128 and 200 steps (the raises end at step 110), 10 warm-started
  // power iterations per tracked step; at width 256 a step with its tracking took about 2 s on 2 cores.
  const deep = paperSizes.hidden.length > 1;
  return {
    data: rank(task, n, quick(s) ? 500 : 5000, quick(s) ? 500 : 5000),
    model: fcn(quick(s) ? paperSizes.hidden.map(() => (deep ? 128 : 256)) : paperSizes.hidden, { sigma }),
    loss: 'mse',
    optimizer: { name: 'gd' },
    schedule: { kind: 'piecewise', lr, changes },
    batchSize: 'full',
    steps: quick(s) && deep ? 200 : 500,
    evalEvery: 10,
    divergeAbove: 1e8,
    // The tracked set is the whole batch, so its λ_max gives η_crit of every step (the catapult count);
    // matrix-free keeps that affordable at n = 1000-2000.
    tracking: { set: { examples: n, every: 5, method: 'matrix-free', ...(quick(s) && deep ? { iterations: 10 } : {}) }, agop: { every: 10 } },
    seed: 0,
  };
}

/**
 * The paper's raises as multiples of the live η_crit (schedule "eta-crit", shaders/live-rate.ts): GD at half
 * the critical rate, raised to 2.5 × η_crit at each of `steps` and held until the catapult is over, then
 * decayed to 0.8 × η_crit where the net sharpens back. The tracked set (the whole batch) is tracked every
 * step, since the rate follows it.
 */
function liveRaises(c: TrainConfig, steps: number[]): TrainConfig {
  return {
    ...c,
    schedule: { kind: 'eta-crit', of: 'set', factor: 0.5, raises: steps.map((t) => [t, 2.5]), after: 0.8 },
    tracking: { ...c.tracking, set: { ...c.tracking!.set!, every: 1 } },
  };
}

const LIVE_RAISES_NOTE =
  'The paper raises absolute rates and "decays the learning rate if necessary after the catapult". Here each raise is to 2.5 × the live η_crit = n/λ_max (GD runs at 0.5 × it before), held until λ_max has dropped below n/η (the catapult is over), then min(held, 0.8 × η_crit): decayed only when the net sharpens back. The 4-layer nets sharpen within 10 steps of a catapult (λ_max 18 → 363 on rank-3), so an absolute rate that catapults once is many times η_crit at the next raise.';

/** SGD on a synthetic task at a fraction of η_crit(whole set), stopping at train loss 1e-3. */
function batchSizeConfig(s: Scale, fraction: number): TrainConfig {
  // n = 2000 at both scales: measured at n = 1000, SGD at b = 10 fit the training set in 1420 steps with
  // test loss 1.00 (nothing learned); at n = 2000 it reached test loss 0.36 and alignment 0.93 by step 1500.
  const n = 2000;
  return {
    data: rank('rank-2', n, quick(s) ? 500 : 5000, quick(s) ? 500 : 5000),
    model: fcn(quick(s) ? [256] : [1024]),
    loss: 'mse',
    optimizer: { name: 'sgd' },
    schedule: { kind: 'constant', lr: fraction },
    lrUnit: 'eta-crit',
    batchSize: 10,
    steps: quick(s) ? 1500 : 20000,
    stopAtLoss: 1e-3,
    evalEvery: 20,
    tracking: { batch: { iterations: 10 }, set: { examples: Math.min(n, 200), every: 20 }, agop: { every: 20 } },
    seed: 0,
  };
}

/**
 * The batch sizes of Table 1. GD (the whole set every step) tracks its batch NTK matrix-free (auto's choice
 * at n = 2000) with 4 warm-started iterations instead of 10: the batch never changes, so the previous step's
 * vector is already converged (measured below); a minibatch's vector starts from the previous batch's.
 */
const BATCH_SIZE_VARIANTS: Record<string, Record<string, unknown>> = {
  b5: { batchSize: 5 },
  b10: { batchSize: 10 },
  b50: { batchSize: 50 },
  b100: { batchSize: 100 },
  gd: { batchSize: 'full', tracking: { batch: { iterations: 4 } } },
};

const GD_TRACKING_NOTE =
  'Variant gd (b = n = 2000): the batch NTK is tracked matrix-free with 4 warm-started power iterations; measured on lavapipe over 60 steps, every λ_max after the first agreed with 40 iterations to 2e-7 (step 0, cold: 6e-7), at 577 ms a step (10 iterations: 1257 ms; forming the 2000×2000 K instead: 1747 ms).';

export const PRESETS: Preset[] = [
  {
    name: 'gd-catapult',
    paper: 'Fig. 2, 3, 13–15',
    summary: 'GD above η_crit: one catapult. The loss spikes in the top-5 eigenspace (L≤5), L>5 falls, λ_max ends lower.',
    config: (s) => gdCatapultConfig(s, { kind: 'constant', lr: quick(s) ? 1.5 : 6 / 3.6 }, 5, quick(s) ? 100 : 200),
    headline: ['spikes', 'criticalSteps', 'lambdaBefore', 'lambdaAfter', 'testLoss', 'finalLoss'],
    notes: [
      'Quick scale: the paper\'s synthetic rank-2 task (n = 128, d = 100), 2 layers of width 1024, GD at 1.5 × η_crit at initialization (EXPERIMENTS.md\'s measured hint).',
      'Paper scale: 5 layers of width 1024 at 6/3.6 ≈ 1.67 × η_crit(init), the paper\'s FCN ratio (lr 6, η_crit 3.6), on 128 images.',
      CIFAR2_NOTE,
    ],
  },
  {
    name: 'gd-multi-catapult',
    paper: 'Fig. 4, 17',
    summary: 'GD with the rate raised twice: a catapult after each raise, λ_max lower after each.',
    config: (s) => gdCatapultConfig(s, multiSchedule(s), 10, quick(s) ? 120 : 200),
    headline: ['spikes', 'criticalSteps', 'lambdaBefore', 'lambdaAfter', 'finalLoss'],
    notes: [
      'Quick scale (rank-2, width 1024): 1.5 × η_crit(init), raised to 6× at step 15 and 16× at step 60. Each catapult lowers λ_max so much (21.7 → 4.9 in the first) that the paper\'s raises (6 → 10 → 15 over η_crit 3.6) would stay below the new η_crit here, and so did 4× (measured: no second catapult); these were chosen by measuring λ_max after each catapult (21.7 → 4.9 → 1.8 → 0.9, three catapults).',
      'Paper scale: the paper\'s 6, 10, 15 over its η_crit 3.6, as multiples of η_crit(init), raised at steps 15 and 60.',
      CIFAR2_NOTE,
    ],
  },
  {
    name: 'gd-final-lr-diverges',
    paper: 'Fig. 18',
    summary: 'GD started at the final rate of gd-multi-catapult diverges: the run ends with status "diverged", every metric kept.',
    config: (s) => {
      const changes = (multiSchedule(s) as { changes: [number, number][] }).changes;
      const lr = changes[changes.length - 1][1];
      return { ...gdCatapultConfig(s, { kind: 'constant', lr }, 5, 100), tracking: { set: { examples: 128, iterations: 20 } } };
    },
    headline: ['status', 'finalLoss'],
    notes: [
      'Paper scale: the final rate of gd-multi-catapult (15/3.6 ≈ 4.2 × η_crit(init)) from the first step.',
      'Quick scale: 16 × η_crit(init), the quick gd-multi-catapult\'s final rate. Measured: the loss passes 1e8 at step 3 (6.8e9) and the run ends "diverged".',
      CIFAR2_NOTE,
    ],
  },
  {
    name: 'sgd-single-example',
    paper: 'Fig. 5, App. F.3',
    summary: 'SGD at batch size 1 on the unit sphere with one point (and its label) doubled: spikes exactly when that point is drawn.',
    config: (s) => ({
      data: { kind: 'sphere', n: 100, d: 100, scaledIndex: 0, scale: 2 },
      model: { hidden: [quick(s) ? 512 : 4096], frozen: [1], hiddenBias: 0, outputBias: 0 },
      loss: 'mse',
      optimizer: { name: 'sgd' },
      schedule: { kind: 'constant', lr: 0.5 },
      lrUnit: 'example-eta-crit',
      batchSize: 1,
      steps: 300,
      evalEvery: 1,
      readbackEvery: 50,
      tracking: { batch: { iterations: 1 } },
      seed: 0,
    }),
    headline: ['criticalSteps', 'spikes', 'finalLoss'],
    notes: [
      'Rate 0.5 × the median single-example η_crit = 1/K(x, x) at initialization: about twice the scaled point\'s (its K(x, x) is 4× larger) and half the others\'.',
      'No biases, so K(x, x) grows as ‖x‖²; the second layer is fixed, as in the paper.',
    ],
  },
  {
    name: 'sgd-spikes',
    paper: 'Fig. 6, Table 2, Fig. 12',
    summary: 'SGD at batch 32 on 128 points: loss spikes where η > η_crit(batch); the match rate of Table 2.',
    config: (s) => ({
      data: mnist2(128),
      model: fcn(quick(s) ? [512] : [1024]),
      loss: 'mse',
      optimizer: { name: 'sgd' },
      schedule: { kind: 'constant', lr: 1 },
      lrUnit: 'eta-crit',
      batchSize: 32,
      steps: quick(s) ? 200 : 2000,
      stopAtLoss: 1e-3,
      evalEvery: 1,
      tracking: { batch: { iterations: 20 }, set: { examples: 128, iterations: 10 }, match: {} },
      seed: 0,
    }),
    headline: ['matchRate', 'ownBatchMatchRate', 'criticalSteps', 'spikes', 'finalLoss'],
    variants: paperFormVariants({ model: { hiddenBias: 1 } }, 0.8),
    sweep: { grid: { 'schedule.lr': [0.1, 1] }, seeds: 3 },
    notes: [
      'The paper\'s absolute rates 0.1 and 0.8 are stated here as 0.1 and 1 × η_crit(init) of the whole set; the batch η_crit is smaller, so at 1× most steps are critical.',
      'Match rate: the share of steps whose full-set loss rose at which η > η_crit(batch) (Table 2: 97.3 ± 0.5 % for the 2-layer net).',
      MATCH_NOTE,
      PAPER_FORM_NOTE,
      CIFAR2_NOTE,
    ],
  },
  {
    name: 'sgd-top-eigenspace',
    paper: 'Fig. 7, 19–22, 33',
    summary: 'SGD at batch 32: each spike lives in the top eigenspace of the training set\'s NTK (L≤1) and comes with a drop of λ_max.',
    config: (s) => ({
      data: mnist2(128),
      model: fcn(quick(s) ? [512] : [1024, 1024, 1024, 1024]),
      loss: 'mse',
      optimizer: { name: 'sgd' },
      schedule: { kind: 'constant', lr: 6 / 3.6 },
      lrUnit: 'eta-crit',
      batchSize: 32,
      steps: quick(s) ? 150 : 1000,
      evalEvery: 5,
      tracking: { batch: { iterations: 20 }, set: { examples: 128, iterations: 20 }, match: {} },
      seed: 0,
    }),
    headline: ['spikes', 'matchRate', 'ownBatchMatchRate', 'lambdaBefore', 'lambdaAfter', 'finalLoss'],
    variants: paperFormVariants({ model: { hiddenBias: 1 } }, 6),
    notes: ['Rate 6/3.6 × η_crit(init), the paper\'s FCN-5 ratio.', PAPER_FORM_NOTE, CIFAR2_NOTE],
  },
  {
    name: 'cyclic-lr',
    paper: 'Remark 3, Fig. 23; report Fig. 1, 3',
    summary: 'SGD with a triangular cyclic rate: a spike at each rising phase, with a drop of λ_max of the whole training set.',
    config: (s) => ({
      data: mnist2(quick(s) ? 256 : 2000),
      model: fcn(quick(s) ? [256] : [1024]),
      loss: 'mse',
      optimizer: { name: 'sgd' },
      schedule: { kind: 'cyclic', base: 0.1, max: 2, period: 50 },
      lrUnit: 'eta-crit',
      batchSize: 32,
      steps: quick(s) ? 200 : 1000,
      evalEvery: 5,
      tracking: { batch: { iterations: 10 }, set: { examples: quick(s) ? 256 : 2000, iterations: 10, ...(quick(s) ? {} : { method: 'matrix-free' as const }) } },
      seed: 0,
    }),
    headline: ['spikes', 'criticalSteps', 'lambdaBefore', 'lambdaAfter', 'finalLoss'],
    variants: { 'exp-cyclic': { schedule: { kind: 'exp-cyclic', base: 0.1, max: 2, period: 50, gamma: 0.8 } } },
    notes: ['Between 0.1 and 2 × η_crit(init), period 50 steps. The variant "exp-cyclic" shrinks the amplitude by 0.8 per cycle (the report\'s exponential cyclic rate).'],
  },
  {
    name: 'gd-catapults-generalization',
    paper: 'Fig. 8, 24, 26, 27',
    summary: 'GD on rank-2 with the paper\'s rate raises: test loss falls and AGOP alignment rises as catapults accumulate.',
    config: (s) => generalizationConfig(s, 'rank-2'),
    headline: ['criticalSteps', 'spikes', 'testLoss', 'alignment'],
    variants: { 'rank-3': { data: { task: 'rank-3' } }, 'rank-4': { data: { task: 'rank-4' } } },
    notes: ['The paper\'s absolute rates (5 raised to 8, 16, 30, 50, 75, 80 at 50, 150, 220, 280, 350, 400); under NTK parameterization η_crit hardly depends on width or n.', 'Quick scale: n = 1000, width 256.'],
  },
  {
    name: 'gd-catapults-generalization-rank3',
    paper: 'Fig. 8 (rank-3)',
    summary: 'As gd-catapults-generalization on the rank-3 task with a 4-layer net.',
    config: (s) => liveRaises(generalizationConfig(s, 'rank-3'), [20, 60, 80]),
    headline: ['criticalSteps', 'spikes', 'testLoss', 'alignment'],
    variants: { 'paper-rates': { schedule: { kind: 'piecewise', lr: 10, changes: [[20, 40], [60, 100], [80, 150]] }, tracking: { set: { every: 5 } } } },
    notes: [
      LIVE_RAISES_NOTE,
      'Raises at the paper\'s steps 20, 60, 80. Quick scale: width 128, 200 steps.',
      'Variant "paper-rates": the paper\'s absolute rates (10 raised to 40, 100, 150). Measured (quick and width 256, seed 0): it diverges soon after the raise to 40 (step 24 at width 128, 27 at 256): at rate 10 the 4-layer net catapults and sharpens back within 10 steps (λ_max 18 → 363 by step 20, η_crit 2.8), so 40 is 14 × η_crit.',
    ],
  },
  {
    name: 'gd-catapults-generalization-rank4',
    paper: 'Fig. 26',
    summary: 'As gd-catapults-generalization on the rank-4 task.',
    config: (s) => liveRaises(generalizationConfig(s, 'rank-4'), [50, 75, 110]),
    headline: ['criticalSteps', 'spikes', 'testLoss', 'alignment'],
    variants: { 'paper-rates': { schedule: { kind: 'piecewise', lr: 8, changes: [[50, 15], [75, 40], [110, 60]] }, tracking: { set: { every: 5 } } } },
    notes: [
      LIVE_RAISES_NOTE,
      'Raises at the paper\'s steps 50, 75, 110. Quick scale: width 128, 200 steps.',
      'Variant "paper-rates": the paper\'s absolute rates (8 raised to 15, 40, 60 at 50, 75, 110).',
      'Measured (quick and the paper\'s width 256, seed 0): catapults at 8 and 15 raise AGOP alignment (0.06 → 0.56) and lower the test loss (3.6 → 2.9), but the run diverges after the raise to 40 or 60 (step 129 at width 128, 96 at 256): λ_max sharpens back to 140-240 within 10-20 steps of each catapult. Decaying to 4 between raises (as the paper does "if necessary") diverged at the raise to 40 too (2.5 × η_crit there).',
    ],
  },
  {
    name: 'sgd-batch-size',
    paper: 'Fig. 9, 30, 32, Table 1',
    summary: 'SGD at η_crit(whole set)/2 for several batch sizes: smaller batches, more catapults, lower test loss, higher alignment.',
    config: (s) => batchSizeConfig(s, 0.5),
    headline: ['criticalSteps', 'testLoss', 'alignment'],
    variants: BATCH_SIZE_VARIANTS,
    sweep: { grid: { variant: Object.keys(BATCH_SIZE_VARIANTS) }, seeds: 3 },
    notes: [
      'Table 1 (rank-2): b 2000 / 50 / 10 / 5 → alignment 0.81 / 0.84 / 0.89 / 0.95, test loss 0.74 / 0.71 / 0.59 / 0.42.',
      'Catapults are counted until the best validation loss.',
      'Quick scale: n = 2000 (as the paper), width 256, 1500 steps: it ends at its step budget rather than at the paper\'s train loss < 1e-3.',
      GD_TRACKING_NOTE,
    ],
  },
  {
    name: 'sgd-batch-size-small-lr',
    paper: 'Fig. 10, 34',
    summary: 'As sgd-batch-size at η_crit/40: no catapults, and the batch size barely matters.',
    config: (s) => batchSizeConfig(s, 1 / 40),
    headline: ['criticalSteps', 'testLoss', 'alignment'],
    variants: BATCH_SIZE_VARIANTS,
    sweep: { grid: { variant: Object.keys(BATCH_SIZE_VARIANTS) }, seeds: 3 },
    notes: ['At a fortieth of η_crit the quick scale stops at its step budget before the loss reaches 1e-3.', GD_TRACKING_NOTE],
  },
  {
    name: 'optimizers',
    paper: 'Fig. 11, Table 3',
    summary: 'Seven optimizers on rank-2 at batch 100: test loss against AGOP alignment.',
    config: (s) => ({
      ...batchSizeConfig(s, 0),
      schedule: { kind: 'constant', lr: 2 },
      lrUnit: 'absolute',
      batchSize: 100,
      tracking: { set: { examples: 200, every: 20 }, agop: { every: 20 } },
    }),
    headline: ['testLoss', 'alignment', 'criticalSteps'],
    variants: {
      sgd: { optimizer: { name: 'sgd' }, schedule: { kind: 'constant', lr: 2 } },
      gd: { optimizer: { name: 'gd' }, batchSize: 'full', schedule: { kind: 'constant', lr: 2 } },
      'sgd-momentum': { optimizer: { name: 'sgd', momentum: 0.9 }, schedule: { kind: 'constant', lr: 2 } },
      adadelta: { optimizer: { name: 'adadelta' }, schedule: { kind: 'constant', lr: 2 } },
      adagrad: { optimizer: { name: 'adagrad' }, schedule: { kind: 'constant', lr: 0.1 } },
      rmsprop: { optimizer: { name: 'rmsprop' }, schedule: { kind: 'constant', lr: 0.01 } },
      adam: { optimizer: { name: 'adam' }, schedule: { kind: 'constant', lr: 0.01 } },
    },
    sweep: { grid: { variant: ['sgd', 'gd', 'sgd-momentum', 'adadelta', 'adagrad', 'rmsprop', 'adam'] }, seeds: 1 },
    notes: ['Rates from Table 3 (rank-2): SGD, GD, SGD+M, Adadelta 2.0; Adagrad 0.1; RMSprop, Adam 0.01.'],
  },
  {
    name: 'full-rank-control',
    paper: 'Fig. 28',
    summary: 'f*(x) = ‖x‖/√d: catapults do not help the test loss here.',
    config: (s) => ({
      data: rank('full-rank', 128, quick(s) ? 500 : 2000, quick(s) ? 500 : 2000),
      model: fcn(quick(s) ? [256] : [1024]),
      loss: 'mse',
      optimizer: { name: 'gd' },
      schedule: { kind: 'piecewise', lr: 6, changes: [[30, 7], [120, 12], [180, 40], [280, 80]] },
      batchSize: 'full',
      steps: 400,
      evalEvery: 10,
      tracking: { set: { examples: 128, every: 5 }, agop: { every: 10 } },
      seed: 0,
    }),
    headline: ['criticalSteps', 'testLoss', 'alignment'],
    notes: ['The paper\'s rates: 6 raised to 7, 12, 40, 80 at 30, 120, 180, 280.'],
  },
  {
    name: 'small-init-control',
    paper: 'Fig. 25',
    summary: 'As gd-catapults-generalization with weights N(0, 0.1²): small initialization learns the AGOP best.',
    config: (s) => generalizationConfig(s, 'rank-2', 0.1),
    headline: ['criticalSteps', 'testLoss', 'alignment'],
    notes: ['σ = 0.1 shrinks the NTK at initialization about 100-fold (λ_max 1.6 against 160 at n = 1000), so the early rates are far below η_crit. Measured at the quick scale: λ_max grows to about 20 as the network learns, and the late raises (75, 80 from step 350) then exceed η_crit (about 50): the run has a catapult there too.'],
  },
  {
    name: 'standard-param',
    paper: 'Fig. 20, 29, 31',
    summary: 'PyTorch\'s default parameterization instead of NTK: the same conclusions (spikes in L≤1 with a drop of λ_max).',
    config: (s) => ({
      data: mnist2(128),
      model: { hidden: quick(s) ? [512] : [1024, 1024, 1024, 1024], parameterization: 'standard', outputBias: 1 },
      loss: 'mse',
      optimizer: { name: 'sgd' },
      schedule: { kind: 'constant', lr: 1.5 },
      lrUnit: 'eta-crit',
      batchSize: 32,
      steps: 150,
      evalEvery: 5,
      tracking: { batch: { iterations: 20 }, set: { examples: 128, iterations: 20 }, match: {} },
      seed: 0,
    }),
    headline: ['spikes', 'matchRate', 'ownBatchMatchRate', 'lambdaBefore', 'lambdaAfter', 'finalLoss'],
    notes: ['The paper\'s rates (0.01 to 1.0) are for its nets; here 1.5 × η_crit(init).', CIFAR2_NOTE],
  },
  {
    name: 'multi-output',
    paper: 'Fig. 16',
    summary: 'Ten classes, the nk×nk NTK: the spike lives in the top k·s eigenspace.',
    config: (s) => ({
      data: { kind: 'mnist', train: quick(s) ? 64 : 128, test: 500 },
      model: fcn(quick(s) ? [256] : [1024, 1024, 1024, 1024]),
      loss: 'mse',
      optimizer: { name: 'gd' },
      schedule: { kind: 'constant', lr: 1.5 },
      lrUnit: 'eta-crit',
      batchSize: 'full',
      steps: 100,
      evalEvery: 10,
      tracking: { set: { examples: quick(s) ? 64 : 128, iterations: 20 }, spectrum: { top: 10, iterations: 60 } },
      seed: 0,
    }),
    headline: ['spikes', 'lambdaBefore', 'lambdaAfter', 'testAccuracy', 'finalLoss'],
    notes: [
      'The paper: FCN lr 100 with η_crit 34 (≈ 2.9×); here 1.5 × η_crit(init) of the nk×nk kernel.',
      'L≤ks is recorded for k·s ≤ 10 (s = 1): Lanczos returns at most 10 eigenpairs.',
    ],
  },
  {
    name: 'mnist-optimizers',
    paper: 'report Table 1',
    summary: 'MNIST, 2-layer net, batch 1024: SGD, SGD with catapults (cyclic rate), AdaGrad, AdaGrad with catapults, Adam.',
    config: (s) => ({
      data: { kind: 'mnist', train: quick(s) ? 4000 : 8000, test: 2000 },
      model: { hidden: [quick(s) ? 128 : 1024], parameterization: 'standard', outputBias: 1 },
      loss: 'cross-entropy',
      optimizer: { name: 'sgd' },
      schedule: { kind: 'constant', lr: 0.1 },
      batchSize: quick(s) ? 256 : 1024,
      steps: quick(s) ? 150 : 400,
      evalEvery: 25,
      seed: 0,
    }),
    headline: ['testAccuracy', 'testLoss', 'finalLoss'],
    variants: {
      sgd: { optimizer: { name: 'sgd' }, schedule: { kind: 'constant', lr: 0.1 } },
      'sgd-catapults': { optimizer: { name: 'sgd' }, schedule: { kind: 'cyclic', base: 0.1, max: 1, period: 50 } },
      adagrad: { optimizer: { name: 'adagrad' }, schedule: { kind: 'constant', lr: 0.01 } },
      'adagrad-catapults': { optimizer: { name: 'adagrad' }, schedule: { kind: 'cyclic', base: 0.01, max: 0.1, period: 50 } },
      adam: { optimizer: { name: 'adam' }, schedule: { kind: 'constant', lr: 0.001 } },
    },
    sweep: { grid: { variant: ['sgd', 'sgd-catapults', 'adagrad', 'adagrad-catapults', 'adam'] }, seeds: 1 },
    notes: ['The report trains on all 60,000 digits; the bundled set has 10,000, so the paper scale uses 8,000 and tests on 2,000.', 'Report: test accuracy 95.38, 97.65, 97.09, 95.91, 98.12 %.'],
  },
  {
    name: 'adagrad-catapults',
    paper: 'report §4, Fig. 3, 4',
    summary: 'AdaGrad with a cyclic rate: s_t, the effective rate η/s_t against the bound s_t·n/λ_max, λ_max and cond(K).',
    config: (s) => ({
      data: mnist2(128),
      model: fcn(quick(s) ? [256] : [1024]),
      loss: 'mse',
      optimizer: { name: 'adagrad' },
      schedule: { kind: 'cyclic', base: 0.01, max: 0.5, period: 100 },
      batchSize: 32,
      steps: quick(s) ? 300 : 2000,
      evalEvery: 10,
      tracking: { batch: { iterations: 10 }, set: { examples: 128, iterations: 10 }, spectrum: { top: 1, every: 10, iterations: 128 }, adagrad: {}, preconditioned: {}, match: {} },
      seed: 0,
    }),
    headline: ['spikes', 'criticalSteps', 'matchRate', 'ownBatchMatchRate', 'lambdaBefore', 'lambdaAfter', 'finalLoss'],
    notes: [
      'AdaGrad moves the batch\'s outputs by (I − 2η·J·P·Jᵀ/b) with P = 1/(sqrt(G) + ε), so its critical rate is b/λ_max(J·P·Jᵀ) (tracking.preconditioned, solved exactly per batch): the critical steps and the match rate count against it.',
      'The report\'s bound s_t·n/λ_max(K) (its 2·s_t/λ_max(H) in this lab\'s conventions) is drawn beside it, as what it is, a bound: s_t is the min over weights that have had a gradient, and on MNIST weights of pixels that are almost never lit keep it near 1e-9, so the bound holds at every step.',
    ],
  },
  {
    name: 'ntk-vs-hessian',
    paper: 'App. A, Fig. 12',
    summary: 'During SGD with catapults, 2/λ_max(H) of the batch loss against b/λ_max(K_batch): the two agree closely.',
    config: (s) => ({
      data: rank('rank-2', 128, 0, 0),
      model: fcn(quick(s) ? [256] : [1024]),
      loss: 'mse',
      optimizer: { name: 'sgd' },
      schedule: { kind: 'constant', lr: 1 },
      lrUnit: 'eta-crit',
      batchSize: 32,
      steps: quick(s) ? 60 : 300,
      tracking: { batch: { iterations: 20 }, hessian: { iterations: 20 } },
      seed: 0,
    }),
    headline: ['hessianAgreement', 'criticalSteps', 'finalLoss'],
    notes: ['λ_max(H) from 20 warm-started power iterations on exact Hessian-vector products (R-operator) each step.'],
  },
  {
    name: 'gd-catapult-cnn',
    paper: 'Fig. 2, 3, 13–15 (CNN)',
    summary: 'GD above η_crit with the paper\'s 5-layer CNN: one catapult, the spike in L≤5, λ_max lower after it.',
    config: (s) =>
      cnnRun(s, {
        schedule: { kind: 'constant', lr: 8 / 4.5 },
        steps: quick(s) ? 60 : 200,
        evalEvery: 10,
        tracking: { set: { examples: 128, iterations: 20 }, spectrum: { top: 5, iterations: 40 } },
      }),
    headline: ['spikes', 'criticalSteps', 'lambdaBefore', 'lambdaAfter', 'testLoss', 'finalLoss'],
    notes: ['Rate 8/4.5 × η_crit(init), the paper\'s CNN ratio (lr 8, η_crit 4.5).', CNN_NOTE, CIFAR2_NOTE],
  },
  {
    name: 'gd-multi-catapult-cnn',
    paper: 'Fig. 4, 17 (CNN)',
    summary: 'GD with the CNN\'s rate raised twice: a catapult after each raise, λ_max lower after each.',
    config: (s) =>
      cnnRun(s, {
        schedule: { kind: 'piecewise', lr: 8 / 4.5, changes: [[10, 15 / 4.5], [40, 20 / 4.5]] },
        steps: quick(s) ? 80 : 200,
        evalEvery: 10,
        tracking: { set: { examples: 128, iterations: 20 }, spectrum: { top: 10, iterations: 40 } },
      }),
    headline: ['spikes', 'criticalSteps', 'lambdaBefore', 'lambdaAfter', 'finalLoss'],
    notes: ['The paper\'s CNN rates 8, 15, 20 over its η_crit 4.5, as multiples of η_crit(init), raised at steps 10 and 40.', CNN_NOTE, CIFAR2_NOTE],
  },
  {
    name: 'gd-final-lr-diverges-cnn',
    paper: 'Fig. 18 (CNN)',
    summary: 'GD started at the paper\'s CNN rate at convergence of Fig. 4, which diverges there; a diverged run ends "diverged" with every metric kept.',
    config: (s) =>
      cnnRun(s, {
        schedule: { kind: 'constant', lr: 40 / 4.5 },
        steps: 60,
        evalEvery: 10,
        tracking: { set: { examples: 128, iterations: 20 } },
      }),
    headline: ['status', 'spikes', 'testLoss', 'finalLoss'],
    notes: [
      'The paper\'s CNN rate 40 over its η_crit 4.5 (Fig. 18: "the learning rate at convergence" of its Fig. 4 run), as 40/4.5 ≈ 8.9 × η_crit(init), from the first step.',
      'Measured at the quick scale (lavapipe, seed 0): it does not diverge. Catapults at steps 1 and 7 take λ_max from 82 to 3.9 and from 144 to 0.41 (the ReLUs nearly all off, loss near 1 for 15 steps); the net then sharpens back and ends completed at loss 0.20, test loss 0.37 against gd-catapult-cnn\'s 0.26. 20/4.5 (the final rate of gd-multi-catapult-cnn) from the first step converges too, after one catapult at step 1 (λ_max 82 → 5.5).',
      CNN_NOTE,
    ],
  },
  {
    name: 'sgd-spikes-cnn',
    paper: 'Table 2, Fig. 6 (CNN-5)',
    summary: 'SGD at batch 32 with the 5-layer CNN: loss spikes where η > η_crit(batch); Table 2\'s CNN match rate.',
    config: (s) =>
      cnnRun(s, {
        optimizer: { name: 'sgd' },
        schedule: { kind: 'constant', lr: 8 / 4.5 },
        batchSize: 32,
        steps: quick(s) ? 100 : 2000,
        stopAtLoss: 1e-3,
        evalEvery: 1,
        tracking: { batch: { iterations: 20 }, set: { examples: 128, iterations: 10 }, match: {} },
      }),
    headline: ['matchRate', 'ownBatchMatchRate', 'criticalSteps', 'spikes', 'finalLoss'],
    variants: paperFormVariants(CNN_BIASES, 8),
    sweep: { grid: {}, seeds: 3 },
    notes: ['The paper\'s CNN rate 8 with its η_crit 4.5, as 8/4.5 × η_crit(init). Table 2: match rate 94.67 ± 3.27 % over 3 runs (catapult sweep sgd-spikes-cnn: 3 seeds).', PAPER_FORM_NOTE, MATCH_NOTE, CNN_NOTE, CIFAR2_NOTE],
  },
  {
    name: 'sgd-top-eigenspace-cnn',
    paper: 'Fig. 7, 19–22 (CNN-5)',
    summary: 'SGD at batch 32 with the 5-layer CNN: each spike lives in L≤1 of the training set\'s NTK and comes with a drop of λ_max.',
    config: (s) =>
      topEigenspaceRun(s, { model: cnn5(s), lr: 8 / 4.5, quickSteps: 100 }),
    headline: ['spikes', 'matchRate', 'ownBatchMatchRate', 'lambdaBefore', 'lambdaAfter', 'finalLoss'],
    variants: paperFormVariants(CNN_BIASES, 8),
    notes: ['The paper\'s CNN rate 8 over its η_crit 4.5, as 8/4.5 × η_crit(init).', PAPER_FORM_NOTE, CNN_NOTE, CIFAR2_NOTE],
  },
  {
    name: 'sgd-top-eigenspace-wrn',
    paper: 'Fig. 7, 15, 19–22 (WRN-10-10)',
    summary: 'SGD at batch 32 with a Wide ResNet 10-10: each spike lives in L≤1 of the training set\'s NTK and comes with a drop of λ_max.',
    config: (s) =>
      topEigenspaceRun(s, { model: { kind: 'wrn', depth: 10, widen: quick(s) ? 1 : 10, ...(quick(s) ? { sigma: 1.6 } : {}) }, lr: 3 / 1.5, quickSteps: 60 }),
    headline: ['spikes', 'matchRate', 'ownBatchMatchRate', 'lambdaBefore', 'lambdaAfter', 'finalLoss'],
    notes: [
      'The paper\'s WRN rate 3 over its η_crit 1.5 (Fig. 15), as 2 × η_crit(init), with NTK parameterization (App. C).',
      WRN_NOTE,
      CIFAR2_NOTE,
    ],
  },
  {
    name: 'sgd-top-eigenspace-vit',
    paper: 'Fig. 7, 33 (ViT-4)',
    summary: 'SGD at batch 32 with a 4-block Vision Transformer: each spike lives in L≤1 of the training set\'s NTK and comes with a drop of λ_max.',
    config: (s) =>
      topEigenspaceRun(s, {
        model: quick(s) ? { kind: 'vit', dim: 32, patch: 2, depth: 4, heads: 2, mlpRatio: 2 } : { kind: 'vit', dim: 256, patch: 4, depth: 4, heads: 8, mlpRatio: 2 },
        lr: 0.2,
        lrUnit: 'absolute',
        quickSteps: 60,
      }),
    headline: ['spikes', 'matchRate', 'ownBatchMatchRate', 'lambdaBefore', 'lambdaAfter', 'finalLoss'],
    notes: [
      'The paper\'s ViT rate 0.2 as it is (the paper gives no η_crit for its ViT), with NTK parameterization.',
      VIT_NOTE,
      CIFAR2_NOTE,
    ],
  },
  {
    name: 'multi-output-cnn',
    paper: 'Fig. 16 (CNN)',
    summary: 'Ten classes with the CNN, the nk×nk NTK: the spike lives in the top k·s eigenspace.',
    config: (s) =>
      cnnRun(s, {
        data: { kind: 'mnist', train: quick(s) ? 32 : 128, test: 500, ...(quick(s) ? { downsample: 2 } : {}) },
        model: { ...cnn5(s), ...(quick(s) ? { sigma: 1.3 } : {}) },
        schedule: { kind: 'constant', lr: 80 / 16 },
        steps: quick(s) ? 30 : 100,
        evalEvery: 10,
        tracking: { set: { examples: quick(s) ? 32 : 128, iterations: 20 }, spectrum: { top: 10, every: quick(s) ? 2 : 1, iterations: 60 } },
      }),
    headline: ['spikes', 'lambdaBefore', 'lambdaAfter', 'testAccuracy', 'finalLoss'],
    notes: [
      'The paper: CNN lr 80 with η_crit 16 (5×), here 5 × η_crit(init) of the nk×nk kernel.',
      'Quick scale: 32 digits of all ten classes (the 320×320 kernel formed from per-example gradients every step), the spectrum every other step, weights N(0, 1.3²): at σ = 1.6 the ten outputs start at loss 4.3 and the first step takes λ_max from 64 to 19 with no spike after it; 2 × η_crit(init) gave no spike at either σ.',
      'Measured at the quick scale (lavapipe, seed 0, 30 steps): the first step takes λ_max from 12.2 to 1.9 with the loss falling (1.32 → 1.03); then 5 small spikes (peak 1.1–1.4 × their start) with λ_max drops of 0.3–2.1, and the rises are mostly in L>10, not L≤10 (step 11: L≤10 0.056 → 0.146, L>10 0.513 → 0.644), unlike the paper\'s Fig. 16.',
      CNN_NOTE,
    ],
  },
  {
    name: 'gd-catapults-generalization-cnn',
    paper: 'Fig. 8 (c), 25 (c): SVHN-2, 5-layer CNN',
    summary: 'GD with the CNN\'s rate raised three times: test loss and accuracy as catapults accumulate.',
    config: (s) =>
      cnnRun(s, {
        data: { ...cnnData(s, quick(s) ? 256 : 1000, quick(s) ? 500 : 5000), val: quick(s) ? 500 : 5000 },
        model: { ...cnn5(s), channels: quick(s) ? 16 : 256 },
        schedule: { kind: 'piecewise', lr: 0.5, changes: [[10, 3], [35, 6], [50, 9]] },
        steps: quick(s) ? 100 : 300,
        evalEvery: 5,
        tracking: { set: { examples: quick(s) ? 256 : 1000, every: 5 } },
      }),
    headline: ['criticalSteps', 'spikes', 'testLoss', 'testAccuracy'],
    notes: [
      'The paper trains a 5-layer CNN of width 256 on 1000 points of SVHN-2 (digits 0 and 2), raising the rate to 30, 60, 90 at steps 10, 35, 50; its η_crit is not given, so the raises here are 3, 6, 9 × η_crit(init) from 0.5.',
      'AGOP alignment needs a reference network on real data (tracking.agop.reference, a checkpoint of a strong model: the paper uses Myrtle-5); without one the preset records the test loss and accuracy.',
      CNN_NOTE,
    ],
  },
];

export function findPreset(name: string): Preset {
  const p = PRESETS.find((q) => q.name === name);
  if (p) return p;
  throw new RangeError(`unknown preset "${name}"; the presets are: ${PRESETS.map((q) => q.name).join(', ')}`);
}

/**
 * Sets a dotted key of a config (e.g. "schedule.lr", "model.hidden") to a value given as text: numbers,
 * true/false, 'full', comma lists (of numbers where all are numbers) and JSON are understood. Every key
 * must exist in the config already, or be a documented optional field; the result is validated by the caller.
 */
export function parseValue(text: string): unknown {
  const t = text.trim();
  if (t === '') throw new RangeError('empty value');
  if (/^[[{"]/.test(t)) {
    try {
      return JSON.parse(t);
    } catch {
      throw new RangeError(`${t} is not valid JSON`);
    }
  }
  if (t === 'true' || t === 'false') return t === 'true';
  if (t.includes(',')) {
    const parts = t.split(',').map((p) => p.trim());
    return parts.every((p) => p !== '' && Number.isFinite(Number(p))) ? parts.map(Number) : parts;
  }
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}

/** A deep copy of config with `key` (dotted) set to value. */
export function setKey<T>(config: T, key: string, value: unknown): T {
  if (!/^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$/.test(key)) throw new RangeError(`"${key}" is not a config key (dotted names such as schedule.lr)`);
  const copy = structuredClone(config) as Record<string, unknown>;
  const path = key.split('.');
  let node = copy;
  for (const part of path.slice(0, -1)) {
    const next = node[part];
    if (next === undefined) node[part] = {};
    else if (typeof next !== 'object' || next === null || Array.isArray(next)) throw new RangeError(`cannot set ${key}: ${part} is not an object`);
    node = node[part] as Record<string, unknown>;
  }
  const last = path[path.length - 1];
  // A single value for a list field (model.hidden=64, data.classes=7) is a list of one.
  node[last] = Array.isArray(node[last]) && !Array.isArray(value) ? [value] : value;
  return copy as T;
}

/** The tag that says which kind of object a config object is: a schedule's kind, an optimizer's name. */
const TAGS = ['kind', 'name'];

/**
 * Deep-merges an override object (as in `variants`) into a config. An override of another kind (a cyclic
 * schedule over a constant one, adam over sgd) replaces the object: the old kind's keys mean nothing to it.
 */
export function mergeOverrides<T>(config: T, overrides: Record<string, unknown>): T {
  const merge = (base: unknown, over: unknown): unknown => {
    if (typeof over !== 'object' || over === null || Array.isArray(over) || typeof base !== 'object' || base === null || Array.isArray(base)) return structuredClone(over);
    const b = base as Record<string, unknown>;
    const o = over as Record<string, unknown>;
    if (TAGS.some((tag) => tag in o && o[tag] !== b[tag])) return structuredClone(over);
    const out = { ...(base as Record<string, unknown>) };
    for (const [k, v] of Object.entries(over)) out[k] = merge(out[k], v);
    return out;
  };
  return merge(config, overrides) as T;
}

/** The config of a preset at a scale, with a variant, --set overrides and a seed applied. */
export function resolvePreset(name: string | Preset, options: { scale?: Scale; variant?: string; set?: [string, unknown][]; seed?: number } = {}): TrainConfig {
  const preset = presetOf(name);
  if (preset.file && options.variant !== undefined) throw new RangeError(`--variant ${options.variant}: ${preset.file.path} is not a preset and has no variants; change its fields with --set`);
  const scale = options.scale ?? 'quick';
  if (!SCALES.includes(scale)) throw new RangeError(`--scale must be one of ${SCALES.join(', ')}; got "${scale}"`);
  let config = preset.config(scale);
  if (options.variant !== undefined) {
    // Own names only: "__proto__", "toString" and the like are no variant.
    const v = preset.variants && Object.hasOwn(preset.variants, options.variant) ? preset.variants[options.variant] : undefined;
    if (!v) throw new RangeError(`preset "${preset.name}" has no variant "${options.variant}"${preset.variants ? `; its variants: ${Object.keys(preset.variants).join(', ')}` : ''}`);
    config = mergeOverrides(config, v);
  }
  for (const [key, value] of options.set ?? []) config = setKey(config, key, value);
  if (options.seed !== undefined) config = { ...config, seed: options.seed };
  return config;
}
