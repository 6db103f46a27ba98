// Spectral tracking during training: the enabled probes of the run's tracking config (src/track/registry.ts),
// each given the step's context, its own slots of the metrics row and, where it reads one, the tracked set
// at the step's parameters (src/track/tracked-set.ts). Nothing here knows a quantity by name.
import type { Gpu } from '../gpu/gpu.ts';
import type { Matrix } from '../gpu/matrix.ts';
import type { Step } from '../gpu/step.ts';
import type { Network, Tape } from '../nn/network.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import type { Probe, ProbeSetup, ReadContext } from './probe.ts';
import { enabledProbes, validateTracking, type TrackingConfig } from './registry.ts';
import { TrackedSet, type TrackedSetConfig } from './tracked-set.ts';

export interface TrackerOptions {
  /** The training set's examples (the tracked set is their first tracking.set.examples). */
  data: { x: Float32Array; y: Float32Array; d: number; k: number; n: number };
  /** The training set's inputs and targets on the GPU. */
  trainInputs: Matrix;
  trainTargets: Matrix;
  loss: 'mse' | 'cross-entropy';
  passRows: number;
  optimizer: Optimizer;
  egop?: Float64Array;
  /** Rows of the metrics buffer (steps between readbacks). */
  metricRows: number;
  /** The first slot of a metrics row that the tracker may hand out (those before are the runner's). */
  firstSlot: number;
  /** Whether every training step's batch is the whole training set in one pass. */
  fullBatch: boolean;
  /** Whether a live-η_crit schedule reads each batch's λ_max within the step. */
  liveBatchRate: boolean;
  /** Why a batch is not in one forward pass (null where it is). */
  notOnePass: string | null;
}

interface Enabled {
  key: string;
  probe: Probe<Record<string, unknown>>;
  /** Its slots' offsets in a metrics row, by name. */
  slots: Map<string, number>;
}

export class Tracker {
  private readonly probes: Enabled[] = [];
  readonly set: TrackedSet | null = null;
  /** Slots of a metrics row, the runner's included. */
  readonly rowWidth: number;

  constructor(
    private readonly gpu: Gpu,
    net: Network,
    readonly config: TrackingConfig,
    options: TrackerOptions,
  ) {
    validateTracking(config, options.data.n);
    const enabled = enabledProbes(config);
    let next = options.firstSlot;
    try {
      const setConfig = config.set as TrackedSetConfig | undefined;
      if (setConfig) {
        const dim = setConfig.examples * net.outputs;
        const products = enabled.reduce((sum, { spec, config: c }) => sum + (spec.setProducts?.(c, dim) ?? 0), 0);
        const stepIsSet = options.fullBatch && setConfig.examples === options.data.n;
        this.set = new TrackedSet(gpu, net, options.data, setConfig, products, stepIsSet);
      }
      const setup: ProbeSetup = { gpu, net, tracking: config, set: this.set, trainInputs: options.trainInputs, trainTargets: options.trainTargets, loss: options.loss, passRows: options.passRows, metricRows: options.metricRows, optimizer: options.optimizer, egop: options.egop, liveBatchRate: options.liveBatchRate, notOnePass: options.notOnePass };
      for (const { spec, config: c } of enabled) {
        const slots = new Map(spec.slots.map((name) => [name, next++]));
        this.probes.push({ key: spec.key, probe: spec.create(setup, c) as Probe<Record<string, unknown>>, slots });
      }
    } catch (e) {
      this.destroy();
      throw e;
    }
    this.rowWidth = next;
  }

  /** The offset in a metrics row of probe `key`'s slot `name` (the live rate reads λ_max from there). */
  slot(key: string, name: string): number {
    const offset = this.probes.find((p) => p.key === key)?.slots.get(name);
    if (offset === undefined) throw new RangeError(`tracking.${key} has no slot "${name}" in this run`);
    return offset;
  }

  /** The work that waits for a readback, at the parameters step t will see, before step t is recorded. */
  async before(t: number): Promise<void> {
    for (const { probe } of this.probes) await probe.before?.(t);
  }

  /**
   * Records the due probes of step t into row `row` of `metrics`. The training step has just run the batch's
   * forward pass `tape` and its backward pass at the current parameters, before the update; nothing here
   * touches the training gradients.
   */
  async record(step: Step, t: number, tape: Tape, Y: Matrix, metrics: GPUBuffer, row: number, batchIndex: GPUBuffer | null): Promise<void> {
    const set = this.set?.at(step, t, tape) ?? null;
    for (const p of this.probes) if (p.probe.due(t)) await p.probe.record({ step, t, row, metrics, slot: this.slotsOf(p, row), tape, Y, batchIndex, set });
  }

  /** Records the due probes' work at the parameters after step t's update (batch X, Y) into row `row`. */
  async recordAfter(step: Step, t: number, X: Matrix, Y: Matrix, metrics: GPUBuffer, row: number): Promise<void> {
    for (const p of this.probes) if (p.probe.after && p.probe.due(t)) await p.probe.after({ step, t, metrics, slot: this.slotsOf(p, row), X, Y });
  }

  /** A probe's slot names as offsets into the metrics buffer, for row `row`. */
  private slotsOf({ slots, key }: Enabled, row: number): (name: string) => number {
    return (name) => {
      const offset = slots.get(name);
      if (offset === undefined) throw new Error(`tracking.${key} wrote to slot "${name}", which it does not declare`);
      return row * this.rowWidth + offset;
    };
  }

  /** Reads back what probes staged since the last readback: call before read() for those steps. */
  async collect(): Promise<void> {
    for (const { probe } of this.probes) await probe.collect?.();
  }

  /** The probes' fields of step t, from row `row` of the metrics read back. */
  read(values: Float32Array, row: number, t: number, batchRows: number, lr: number): Record<string, unknown> {
    const record: Record<string, unknown> = {};
    for (const { probe, slots } of this.probes) {
      const ctx: ReadContext = { t, batchRows, lr, record, value: (name) => values[row * this.rowWidth + slots.get(name)!] };
      Object.assign(record, probe.read(ctx));
    }
    return record;
  }

  private powers() {
    return Object.fromEntries(this.probes.flatMap(({ probe }) => Object.entries(probe.warmStarts?.() ?? {})));
  }

  /** The power iterations' warm-start vectors, by name, so a resumed run tracks exactly as the original. */
  warmStarts(): Record<string, Matrix> {
    return Object.fromEntries(Object.entries(this.powers()).map(([name, power]) => [name, power.v]));
  }

  /** Restores warm starts saved by warmStarts(). */
  restoreWarmStarts(vectors: Record<string, Float32Array>): void {
    for (const name of Object.keys(vectors)) for (const { probe } of this.probes) probe.expectWarmStart?.(name);
    const powers = this.powers();
    for (const [name, v] of Object.entries(vectors)) {
      const power = powers[name];
      if (!power) throw new RangeError(`checkpoint has a warm start "${name}" that this run's tracking does not use`);
      if (power.v.length !== v.length) throw new RangeError(`warm start "${name}": ${v.length} values, the run needs ${power.v.length}`);
      this.gpu.write(power.v.buffer, v);
      power.warm = true;
    }
  }

  /**
   * Warm-starts the power iteration `name` from v where it has not started (the training set's top eigenvector
   * measured to tolerance at initialization, for the tracked set that is the whole training set).
   */
  adoptWarmStart(name: string, v: Matrix): void {
    const power = this.powers()[name];
    if (!power || power.warm || power.v.length !== v.length) return;
    const copy = this.gpu.step('warm start');
    copy.copy(v.buffer, power.v.buffer, v.length * 4, v.offset, 0);
    this.gpu.submit(copy);
    power.warm = true;
  }

  destroy(): void {
    for (const { probe } of this.probes) probe.destroy();
    this.set?.destroy();
  }
}
