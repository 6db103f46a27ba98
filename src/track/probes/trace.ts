// The trace of the tracked set's NTK per example, tr K / n = (1/n) Σ_i Σ_a ‖∇θ f_a(x_i)‖²: the mean of the
// eigenvalues times k, a cheap scale of the kernel beside λ_max (λ_max·k/tr K near 1 means one direction holds
// the kernel). Read off the set's formed K: its diagonal gathered, then summed.
import { z } from 'zod';
import { Matrix } from '../../gpu/matrix.ts';
import { gather, reduce } from '../../kernels/ops.ts';
import { every } from '../../util/schema-fields.ts';
import { defineProbe, dueEvery, type ReadContext, type StepContext } from '../probe.ts';

const schema = z.strictObject({ every: every() }, { error: () => 'must be an object' }).describe('tr K / n of the tracked set\'s NTK');

export const traceProbe = defineProbe({
  key: 'trace',
  schema,
  slots: ['trace'],
  fields: { traceK: { label: 'tr K / n of the tracked set’s NTK' } },
  charts: [
    {
      id: 'trace',
      title: 'Trace of the tracked set’s NTK per example, tr K/n (compare λ_max: near it, one direction holds the kernel)',
      yLabel: 'eigenvalue scale of K',
      log: true,
      source: 'steps',
      series: () => [{ label: 'tr K/n', step: (r) => r.traceK, compare: true }],
    },
  ],
  check(_c, tracking) {
    if (!tracking.set) throw new RangeError('tracking.trace needs tracking.set: it is the trace of the tracked set\'s NTK');
  },
  create({ gpu, set }, config) {
    if (set!.matrixFreeMethod) throw new RangeError('tracking.trace reads the diagonal of the tracked set\'s formed NTK: use tracking.set.method "formed" (or "auto" with fewer examples)');
    const dim = set!.K!.rows;
    // The diagonal's positions in K read as one column of dim² entries.
    const diagonal = gpu.createBuffer({ label: 'NTK diagonal positions', size: dim * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    gpu.write(diagonal, Uint32Array.from({ length: dim }, (_, i) => i * (dim + 1)));
    const due = dueEvery(config.every);
    return {
      due,
      async record(ctx: StepContext) {
        const { K } = await ctx.set!.evaluate();
        const values = new Matrix(ctx.step.scratch(dim * 4), dim, 1);
        await gather(ctx.step, new Matrix(K!.buffer, dim * dim, 1, K!.offset), diagonal, values);
        await reduce(ctx.step, 'sum', values, null, ctx.metrics, ctx.slot('trace'));
      },
      read: (ctx: ReadContext) => (due(ctx.t) ? { traceK: ctx.value('trace') / set!.n } : {}),
      destroy: () => diagonal.destroy(),
    };
  },
});
