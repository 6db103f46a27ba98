// The two losses Table 2's match rates count rises of (src/run/catapults.ts):
//   totalLoss: the loss of the whole training set at the step's parameters w^t, before its update, so that
//     ΔL^t = L^{t+1} − L^t is the paper's definition whatever the run's evaluation interval;
//   batchLossAfter: the step's own batch at the parameters after its update, L_{B_t}(w^{t+1}), to compare
//     with the step's batch loss L_{B_t}(w^t). To first order a sub-critical step multiplies the batch's
//     residual by I − 2ηK_B/b, whose eigenvalues lie in (−1, 1], so that loss can only rise at a critical step.
// Both are forward passes in a workspace of their own, in chunks of what one pass takes, written to the
// step's metrics row on the GPU: nothing is read back before the runner's readback.
import { z } from 'zod';
import { Matrix } from '../../gpu/matrix.ts';
import { RowCopies } from '../../gpu/row-copies.ts';
import type { Step } from '../../gpu/step.ts';
import { reduce } from '../../kernels/ops.ts';
import { LossHeads } from '../../nn/loss.ts';
import { every } from '../../util/schema-fields.ts';
import { defineProbe, dueEvery, type AfterContext, type ReadContext, type StepContext } from '../probe.ts';

const schema = z
  .strictObject({ every: every() }, { error: () => 'must be an object' })
  .describe('the training loss at every step and the batch\'s own loss after its update, for the two match rates of Table 2');

/** η/η_crit(batch) of a step, where tracking.batch records η_crit (its field, not this probe's). */
const criticalRatio = (r: { lr: number }) => {
  const etaCrit = (r as { etaCrit?: number }).etaCrit;
  return etaCrit ? r.lr / etaCrit : undefined;
};

export const matchProbe = defineProbe({
  key: 'match',
  schema,
  slots: ['total', 'after', 'correct'],
  fields: {
    totalLoss: { label: 'loss of the whole training set before the step’s update, L(w^t)' },
    batchLossAfter: { label: 'loss of the step’s batch after its update, L_B(w^{t+1})' },
  },
  charts: [
    {
      id: 'own-batch',
      title: 'Each step’s own batch across its update, L_B(w^{t+1}) / L_B(w^t) (above 1: it rose), beside η/η_crit(batch) (above 1: critical)',
      yLabel: 'ratio to 1',
      log: true,
      source: 'steps',
      series: () => [
        { label: 'L_B after / before', step: (r) => (r.batchLossAfter !== undefined ? r.batchLossAfter / r.loss : undefined), points: true, compare: true },
        { label: 'η/η_crit(batch)', step: (r) => (r.batchLossAfter !== undefined ? criticalRatio(r) : undefined), points: true },
        { label: '1', step: (r) => (r.batchLossAfter !== undefined ? 1 : undefined), dash: [6, 4], critical: true },
      ],
    },
  ],
  create({ gpu, net, trainInputs, trainTargets, loss, passRows }, config) {
    const losses = new LossHeads(gpu, net.outputs);
    const rows = new RowCopies(gpu);
    const chunk = passRows;
    const parts = Math.ceil(trainInputs.rows / chunk);
    const partial = gpu.createBuffer({ label: 'match-rate partial losses', size: 2 * parts * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    const due = dueEvery(config.every);

    /** Σ over the rows of (X, Y) of the loss at the current parameters, into out[slot]. */
    async function lossSum(step: Step, X: Matrix, Y: Matrix, out: GPUBuffer, slot: number, correctSlot: number): Promise<void> {
      const count = Math.ceil(X.rows / chunk);
      if (count > parts) throw new RangeError(`tracking.match: a batch of ${X.rows} is larger than the training set's ${trainInputs.rows} rows`);
      for (let c = 0; c < count; c++) {
        const from = c * chunk;
        const n = Math.min(chunk, X.rows - from);
        const Xc = rows.of(step, X, from, n, 'match X');
        const Yc = rows.of(step, Y, from, n, 'match Y');
        const { output } = await net.forward(step, Xc, { workspace: 'match' });
        // The batch divisor only scales the loss seed, which nothing here uses.
        const [into, at, correctAt] = count === 1 ? [out, slot, correctSlot] : [partial, c, parts + c];
        if (loss === 'mse') await losses.mse(step, output, Yc, into, at);
        else await losses.crossEntropy(step, output, Yc, into, at, correctAt);
      }
      if (count > 1) await reduce(step, 'sum', new Matrix(partial, count, 1), null, out, slot);
    }

    return {
      due,
      async record(ctx: StepContext) {
        await lossSum(ctx.step, trainInputs, trainTargets, ctx.metrics, ctx.slot('total'), ctx.slot('correct'));
      },
      async after(ctx: AfterContext) {
        await lossSum(ctx.step, ctx.X, ctx.Y, ctx.metrics, ctx.slot('after'), ctx.slot('correct'));
      },
      read: (ctx: ReadContext) => (due(ctx.t) ? { totalLoss: ctx.value('total') / trainInputs.rows, batchLossAfter: ctx.value('after') / ctx.batchRows } : {}),
      destroy() {
        losses.destroy();
        rows.destroy();
        partial.destroy();
      },
    };
  },
});
