// A learning rate that follows the live critical rate: each step, after the tracker has written λ_max into
// the step's metrics row and before the update, shaders/live-rate.ts turns it into that step's rate and
// writes it to the optimizer's rate buffer and to the metrics row (SLOT.lr). Nothing is read back for it.
import { liveRate } from '../../shaders/live-rate.ts';
import type { Gpu } from '../gpu/gpu.ts';
import type { Step } from '../gpu/step.ts';
import type { LiveSchedule } from './schedules.ts';

/** A raised rate is held at most this many steps by default. */
export const DEFAULT_MAX_HOLD = 50;

export class LiveRate {
  /** [λ_max last tracked, mode, held rate, steps held]: see shaders/live-rate.ts. */
  readonly state: GPUBuffer;
  private readonly raiseAt: Map<number, number>;

  constructor(
    private readonly gpu: Gpu,
    readonly schedule: LiveSchedule,
    /** The optimizer's rate buffer, whose first float scales every update. */
    private readonly rate: GPUBuffer,
  ) {
    this.state = gpu.createBuffer({ label: 'live rate state', size: 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    this.gpu.write(this.state, new Float32Array(4));
    this.raiseAt = new Map(schedule.raises ?? []);
  }

  /**
   * Records step t's rate from λ_max at float `lambdaSlot` of `metrics` (tracked this step when `fresh`) over
   * n examples, into the optimizer's rate and metrics[outSlot].
   */
  async record(step: Step, t: number, metrics: GPUBuffer, lambdaSlot: number, outSlot: number, n: number, fresh: boolean): Promise<void> {
    await step.host.prepare([liveRate]);
    const s = this.schedule;
    const raise = this.raiseAt.get(t);
    step.dispatch(liveRate, [metrics, this.state, this.rate], {
      lambdaSlot,
      outSlot,
      fresh,
      raise: raise !== undefined,
      n,
      base: s.factor,
      raiseFactor: raise ?? 0,
      after: s.after ?? s.factor,
      maxHold: s.maxHold ?? DEFAULT_MAX_HOLD,
    });
  }

  destroy(): void {
    this.state.destroy();
  }
}
