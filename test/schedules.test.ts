import { describe, expect, it } from 'vitest';
import { learningRate, validateSchedule, type Schedule } from '../src/optim/schedules.ts';

const series = (s: Schedule, n: number) => Array.from({ length: n }, (_, t) => learningRate(s, t));

describe('learning-rate schedules', () => {
  it('constant', () => expect(series({ kind: 'constant', lr: 0.3 }, 3)).toEqual([0.3, 0.3, 0.3]));

  it('piecewise raises at the paper\'s iterations (lr 6 raised to 10, 15 at 15, 60)', () => {
    const s: Schedule = { kind: 'piecewise', lr: 6, changes: [[15, 10], [60, 15]] };
    expect([0, 14, 15, 59, 60, 1000].map((t) => learningRate(s, t))).toEqual([6, 6, 10, 10, 15, 15]);
  });

  it('triangular cyclic rises from base to max at half period and back', () => {
    expect(series({ kind: 'cyclic', base: 1, max: 3, period: 4 }, 9)).toEqual([1, 2, 3, 2, 1, 2, 3, 2, 1]);
  });

  it('exponential cyclic multiplies the amplitude by gamma each cycle', () => {
    const s = series({ kind: 'exp-cyclic', base: 1, max: 3, period: 4, gamma: 0.5 }, 12);
    expect([s[2], s[6], s[10]]).toEqual([3, 2, 1.5]);
    expect(s[4]).toBe(1);
  });

  it('decay multiplies another schedule once per passed step', () => {
    const s: Schedule = { kind: 'decay', schedule: { kind: 'constant', lr: 8 }, at: [2, 4], factor: 0.5 };
    expect(series(s, 6)).toEqual([8, 8, 4, 4, 2, 2]);
  });

  it('names the field and what is allowed when a schedule is wrong', () => {
    expect(() => validateSchedule({ kind: 'piecewise', lr: 6, changes: [[60, 15], [15, 10]] })).toThrow(/schedule.changes must be in increasing step order/);
    expect(() => validateSchedule({ kind: 'cyclic', base: 0, max: 1, period: 1 })).toThrow(/schedule.period must be an integer >= 2 steps, got 1/);
    expect(() => validateSchedule({ kind: 'constant', lr: -1 })).toThrow(/schedule.lr must be a finite number >= 0, got -1/);
    expect(() => validateSchedule({ kind: 'warmup' } as never)).toThrow(/schedule.kind must be one of constant, piecewise, cyclic, exp-cyclic, decay, eta-crit; got "warmup"/);
    expect(() => validateSchedule({ kind: 'decay', schedule: { kind: 'constant', lr: NaN }, at: [], factor: 0.1 })).toThrow(/schedule.schedule.lr must be/);
  });
});
