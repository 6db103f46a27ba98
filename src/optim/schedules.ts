// Learning-rate schedules: pure functions of the step index t = 0, 1, 2, ... (the rate used by step t).
//   constant      η
//   piecewise     η until the first raise, then each raise's rate from its step on
//                 ("lr 6 raised to 10, 15 at iterations 15, 60": {lr: 6, changes: [[15, 10], [60, 15]]})
//   cyclic        triangular between base and max, period steps per cycle (PyTorch CyclicLR 'triangular')
//   exp-cyclic    the same with the amplitude multiplied by gamma each cycle (the student report's
//                 "exponential cyclic" rate)
//   decay         another schedule multiplied by factor once per step listed in `at` that has passed
//                 (to calm training after a catapult)
//   eta-crit      a multiple of the live critical rate n/λ_max of the tracked set or the step's batch, raised
//                 at given steps and held until the catapult is over, then decayed to `after`·η_crit where that
//                 is lower: computed on the GPU each step (shaders/live-rate.ts); the host learns the rate
//                 with the metrics

import { checkConfigPart } from '../config/check.ts';
import { scheduleSchema } from '../config/parts.ts';

export type Schedule =
  | { kind: 'constant'; lr: number }
  | { kind: 'piecewise'; lr: number; changes: [step: number, lr: number][] }
  | { kind: 'cyclic'; base: number; max: number; period: number }
  | { kind: 'exp-cyclic'; base: number; max: number; period: number; gamma: number }
  | { kind: 'decay'; schedule: Schedule; at: number[]; factor: number }
  | LiveSchedule;

/** A rate that follows the live η_crit (see the header). */
export interface LiveSchedule {
  kind: 'eta-crit';
  of: 'set' | 'batch';
  factor: number;
  raises?: [step: number, factor: number][];
  after?: number;
  maxHold?: number;
}

export const SCHEDULE_KINDS = ['constant', 'piecewise', 'cyclic', 'exp-cyclic', 'decay', 'eta-crit'] as const;

/** The schedule if its rate is computed on the GPU from the live η_crit, else null. */
export const liveSchedule = (s: Schedule): LiveSchedule | null => (s.kind === 'eta-crit' ? s : null);

/** Checks a schedule against its schema (src/config/schema.ts), then that piecewise changes come in step order. */
export function validateSchedule(s: Schedule, path = 'schedule'): void {
  checkConfigPart(scheduleSchema, s, path);
  if (s.kind === 'piecewise') {
    s.changes.forEach(([t], i) => {
      if (i > 0 && t <= s.changes[i - 1][0]) throw new RangeError(`${path}.changes must be in increasing step order (step ${t} after ${s.changes[i - 1][0]})`);
    });
  }
  if (s.kind === 'decay') {
    validateSchedule(s.schedule, `${path}.schedule`);
    if (s.schedule.kind === 'eta-crit') throw new RangeError(`${path}.schedule: an "eta-crit" rate cannot be decayed by step; give it an "after" factor instead`);
  }
  if (s.kind === 'eta-crit') {
    (s.raises ?? []).forEach(([t], i, raises) => {
      if (i > 0 && t <= raises[i - 1][0]) throw new RangeError(`${path}.raises must be in increasing step order (step ${t} after ${raises[i - 1][0]})`);
    });
  }
}

/** The learning rate of step t; NaN for an "eta-crit" rate, which only the GPU knows until it is read back. */
export function learningRate(s: Schedule, t: number): number {
  switch (s.kind) {
    case 'eta-crit':
      return NaN;
    case 'constant':
      return s.lr;
    case 'piecewise': {
      let lr = s.lr;
      for (const [at, v] of s.changes) if (t >= at) lr = v;
      return lr;
    }
    case 'cyclic':
    case 'exp-cyclic': {
      const cycle = Math.floor(t / s.period);
      const phase = (t % s.period) / s.period; // 0 at the start of a cycle, rising to the peak at 1/2
      const height = 1 - Math.abs(2 * phase - 1);
      const amplitude = (s.max - s.base) * (s.kind === 'exp-cyclic' ? s.gamma ** cycle : 1);
      return s.base + amplitude * height;
    }
    case 'decay': {
      const passed = s.at.filter((at) => t >= at).length;
      return learningRate(s.schedule, t) * s.factor ** passed;
    }
  }
}
