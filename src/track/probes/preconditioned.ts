// The critical rate of an adaptive optimizer on each step's batch: λ_max of J·P·Jᵀ for the diagonal
// preconditioner P of the coming update, hence η_crit^P(batch) = b/λ_max (src/ntk/preconditioned.ts).
import { z } from 'zod';
import { PreconditionedBatch } from '../../ntk/preconditioned.ts';
import { choice, every, powerIterations } from '../../util/schema-fields.ts';
import { defineProbe, dueEvery, recordPower, type ReadContext, type StepContext } from '../probe.ts';

const schema = z
  .strictObject(
    {
      every: every(),
      iterations: powerIterations(),
      solver: choice(['auto', 'exact', 'power'], 'exact: J·P·Jᵀ formed column by column and solved in float64; power: power iterations on the GPU; auto: exact up to 64 rows').optional(),
    },
    { error: () => 'must be an object' },
  )
  .describe('λ_max of J·P·Jᵀ for the adaptive optimizer\'s preconditioner P, and its critical rate');

export const preconditionedProbe = defineProbe({
  key: 'preconditioned',
  schema,
  slots: ['lambda', 'residual'],
  fields: {
    lambdaPreconditioned: { label: 'λ_max of the batch’s J·P·Jᵀ' },
    lambdaPreconditionedResidual: { label: 'its relative residual' },
    etaCritPreconditioned: { label: 'η_crit^P(batch) = b/λ_max(J·P·Jᵀ)' },
  },
  eigenvalues: [{ value: 'lambdaPreconditioned', residual: 'lambdaPreconditionedResidual', label: 'λ_max of the batch’s J·P·Jᵀ (η_crit^P(batch))' }],
  create({ gpu, net, optimizer, metricRows }, config) {
    const batch = new PreconditionedBatch(gpu, net, optimizer, config, metricRows);
    const due = dueEvery(config.every);
    return {
      due,
      async record(ctx: StepContext) {
        await batch.record(ctx.step, ctx.tape.X, ctx.t, ctx.row, (power, op) => recordPower(ctx, power, op, config.iterations));
      },
      collect: () => batch.collect(),
      read(ctx: ReadContext) {
        if (!due(ctx.t)) return {};
        const exact = batch.take(ctx.t, ctx.batchRows);
        const lambdaPreconditioned = exact ? exact.lambda : ctx.value('lambda');
        return { lambdaPreconditioned, lambdaPreconditionedResidual: exact ? exact.residual : ctx.value('residual'), etaCritPreconditioned: ctx.batchRows / lambdaPreconditioned };
      },
      destroy: () => batch.destroy(),
    };
  },
});
