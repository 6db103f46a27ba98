// The student report's AdaGrad diagnostics: s_t = min over trainable parameters of sqrt(Σ_steps g²), the
// largest effective rate η/s_t, and (with tracking.set) the bound s_t·n/λ_max(K) on AdaGrad's critical rate
// (the report's 2·s_t/λ_max(H), with GD's critical rate 2/λ_max(H) = n/λ_max(K) in this lab's conventions).
// The min is over parameters that have had a gradient (accumulator above its initial value): a weight that
// never had one (an always-zero pixel of MNIST's border, a dead unit) has not moved and is no part of the NTK,
// and counting it made s_t = 0 at every step on MNIST. Before any gradient, s_t is sqrt(initial value).
import { z } from 'zod';
import { Matrix } from '../../gpu/matrix.ts';
import { MIN_IDENTITY, reduce } from '../../kernels/ops.ts';
import { every } from '../../util/schema-fields.ts';
import { defineProbe, dueEvery, type ReadContext, type StepContext } from '../probe.ts';

const schema = z.strictObject({ every: every() }, { error: () => 'must be an object' }).describe('AdaGrad\'s s_t and its bound');

export const adagradProbe = defineProbe({
  key: 'adagrad',
  schema,
  slots: ['min'],
  fields: {
    adagradS: { label: 's_t = min sqrt(Σ g²) over parameters that have had a gradient' },
    adagradRate: { label: 'the largest effective rate η/s_t' },
    adagradBound: { label: 'the bound s_t·n/λ_max(K) on AdaGrad’s critical rate (with tracking.set)' },
  },
  charts: [
    {
      id: 'adagrad',
      title: 'AdaGrad: the effective rate η/s_t against the report’s bound s_t·n/λ_max, and s_t (the exact critical rate is η_crit^P above)',
      yLabel: 'learning rate',
      log: true,
      source: 'steps',
      series: () => [
        { label: 'η/s_t', step: (r) => r.adagradRate, compare: true },
        { label: 's_t·n/λ_max', step: (r) => r.adagradBound },
        { label: 's_t', step: (r) => r.adagradS, dash: [6, 4] },
      ],
    },
  ],
  create({ optimizer, set }, config) {
    const sum = optimizer.state('sum');
    if (!sum) throw new RangeError('tracking.adagrad needs the optimizer "adagrad"');
    const tensors = optimizer.tensors;
    const initial = optimizer.hyper.initialAccumulatorValue;
    const due = dueEvery(config.every);
    return {
      due,
      async record({ step, metrics, slot }: StepContext) {
        // The minimum of the accumulator over each trainable tensor (padding and frozen layers excluded) among
        // the entries above the initial value, then over the tensors. It reads the accumulator before this
        // step's update: Σ over steps < t.
        const partials = step.scratch(tensors.length * 4);
        const above = Math.fround(initial);
        for (const [i, { offset, count }] of tensors.entries()) await reduce(step, 'min', new Matrix(sum, count, 1, offset * 4), null, partials, i, { above });
        await reduce(step, 'min', new Matrix(partials, tensors.length, 1), null, metrics, slot('min'));
      },
      read(ctx: ReadContext) {
        if (!due(ctx.t)) return {};
        const min = ctx.value('min');
        const adagradS = Math.sqrt(min === MIN_IDENTITY ? initial : min);
        const lambda = ctx.record.lambda;
        return { adagradS, adagradRate: ctx.lr / adagradS, ...(typeof lambda === 'number' ? { adagradBound: (adagradS * set!.n) / lambda } : {}) };
      },
      destroy() {},
    };
  },
});
