// Learning-rate schedules: pure functions of the step index t = 0, 1, 2, ... (the rate used by step t).
//   constant      η
//   piecewise     η until the first raise, then each raise's rate from its step on
//                 ("lr 6 raised to 10, 15 at iterations 15, 60": {lr: 6, changes: [[15, 10], [60, 15]]})
//   cyclic        triangular between base and max, period steps per cycle (PyTorch CyclicLR 'triangular')
//   exp-cyclic    the same with the amplitude multiplied by gamma each cycle (the student report's
//                 "exponential cyclic" rate)
//   decay         another schedule multiplied by factor once per step listed in `at` that has passed
//                 (to calm training after a catapult)

import { onlyKeys } from '../util/validate.ts';

export type Schedule =
  | { kind: 'constant'; lr: number }
  | { kind: 'piecewise'; lr: number; changes: [step: number, lr: number][] }
  | { kind: 'cyclic'; base: number; max: number; period: number }
  | { kind: 'exp-cyclic'; base: number; max: number; period: number; gamma: number }
  | { kind: 'decay'; schedule: Schedule; at: number[]; factor: number };

export const SCHEDULE_KINDS = ['constant', 'piecewise', 'cyclic', 'exp-cyclic', 'decay'] as const;

function rate(path: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`${path} must be a finite number >= 0, got ${JSON.stringify(v)}`);
}

function stepIndex(path: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new RangeError(`${path} must be an integer step >= 0, got ${JSON.stringify(v)}`);
}

const SCHEDULE_KEYS: Record<Schedule['kind'], readonly string[]> = {
  constant: ['kind', 'lr'],
  piecewise: ['kind', 'lr', 'changes'],
  cyclic: ['kind', 'base', 'max', 'period'],
  'exp-cyclic': ['kind', 'base', 'max', 'period', 'gamma'],
  decay: ['kind', 'schedule', 'at', 'factor'],
};

export function validateSchedule(s: Schedule, path = 'schedule'): void {
  if (s && Object.hasOwn(SCHEDULE_KEYS, s.kind)) onlyKeys(`${path} (${s.kind})`, s, SCHEDULE_KEYS[s.kind]);
  switch (s?.kind) {
    case 'constant':
      return rate(`${path}.lr`, s.lr);
    case 'piecewise': {
      rate(`${path}.lr`, s.lr);
      if (!Array.isArray(s.changes)) throw new RangeError(`${path}.changes must be a list of [step, lr] pairs`);
      s.changes.forEach(([t, lr], i) => {
        stepIndex(`${path}.changes[${i}][0]`, t);
        rate(`${path}.changes[${i}][1]`, lr);
        if (i > 0 && t <= s.changes[i - 1][0]) throw new RangeError(`${path}.changes must be in increasing step order (step ${t} after ${s.changes[i - 1][0]})`);
      });
      return;
    }
    case 'cyclic':
    case 'exp-cyclic':
      rate(`${path}.base`, s.base);
      rate(`${path}.max`, s.max);
      if (!Number.isInteger(s.period) || s.period < 2) throw new RangeError(`${path}.period must be an integer >= 2 steps, got ${s.period}`);
      if (s.kind === 'exp-cyclic' && !(s.gamma > 0 && s.gamma <= 1)) throw new RangeError(`${path}.gamma must be in (0, 1], got ${s.gamma}`);
      return;
    case 'decay':
      validateSchedule(s.schedule, `${path}.schedule`);
      if (!Array.isArray(s.at)) throw new RangeError(`${path}.at must be a list of steps`);
      s.at.forEach((t, i) => stepIndex(`${path}.at[${i}]`, t));
      if (!(s.factor > 0)) throw new RangeError(`${path}.factor must be > 0, got ${s.factor}`);
      return;
    default:
      throw new RangeError(`${path}.kind must be one of ${SCHEDULE_KINDS.join(', ')}; got ${JSON.stringify((s as { kind?: unknown })?.kind)}`);
  }
}

/** The learning rate of step t. */
export function learningRate(s: Schedule, t: number): number {
  switch (s.kind) {
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
