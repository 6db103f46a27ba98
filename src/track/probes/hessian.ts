// λ_max of the Hessian of the batch loss (MSE) by warm-started power iteration on exact Hessian-vector
// products (src/ntk/hessian.ts), hence 2/λ_max(H), to set beside η_crit(batch) = b/λ_max(K).
import { z } from 'zod';
import { BatchHessian } from '../../ntk/hessian.ts';
import { PowerIteration } from '../../ntk/spectrum.ts';
import { every, powerIterations } from '../../util/schema-fields.ts';
import { defineProbe, dueEvery, recordPower, type ReadContext, type StepContext } from '../probe.ts';

const schema = z
  .strictObject({ every: every(), iterations: powerIterations() }, { error: () => 'must be an object' })
  .describe('λ_max of the batch loss\'s Hessian');

export const hessianProbe = defineProbe({
  key: 'hessian',
  schema,
  slots: ['lambda', 'residual'],
  fields: {
    lambdaHessian: { label: 'λ_max of the batch loss’s Hessian' },
    lambdaHessianResidual: { label: 'its relative residual' },
    etaCritHessian: { label: '2/λ_max(H)' },
  },
  eigenvalues: [{ value: 'lambdaHessian', residual: 'lambdaHessianResidual', label: 'λ_max of the batch loss’s Hessian' }],
  create({ gpu, net, notOnePass }, config) {
    if (notOnePass) throw new RangeError(`tracking.hessian ${notOnePass}`);
    if (!net.sites.some((l) => !l.frozen)) throw new RangeError('tracking.hessian: every layer is frozen');
    if (net.hessianUnsupported) throw new RangeError(`tracking.hessian: ${net.hessianUnsupported}; track the NTK's η_crit instead, or use a net without it`);
    const hessian = new BatchHessian(gpu, net);
    const power = new PowerIteration(gpu, net.layout.size, 3);
    const due = dueEvery(config.every);
    return {
      due,
      async record(ctx: StepContext) {
        await recordPower(ctx, power, await hessian.linearize(ctx.step, ctx.tape.X, ctx.Y), config.iterations);
      },
      read(ctx: ReadContext) {
        if (!due(ctx.t)) return {};
        const lambdaHessian = ctx.value('lambda');
        return { lambdaHessian, lambdaHessianResidual: ctx.value('residual'), etaCritHessian: 2 / lambdaHessian };
      },
      warmStarts: () => ({ hessian: power }),
      destroy() {
        hessian.destroy();
        power.destroy();
      },
    };
  },
});
