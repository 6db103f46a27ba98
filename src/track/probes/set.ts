// λ_max of the tracked set's NTK (the first `examples` training examples, src/track/tracked-set.ts), that set's
// loss, and its split into the top eigendirection and the rest: L≤1 = (1/n)(u₁ᵀ r)², L>1 = L − L≤1 (the
// paper's eq. 2), with u₁ the power iteration's vector. Warm-started power iterations, each with its residual.
import { z } from 'zod';
import { reduce } from '../../kernels/ops.ts';
import { PowerIteration } from '../../ntk/spectrum.ts';
import { choice, every, integer, powerIterations } from '../../util/schema-fields.ts';
import { DEFAULT_ITERATIONS, defineProbe, dueEvery, recordPower, type ProbeSetup, type ReadContext, type StepContext } from '../probe.ts';
import { NTK_METHOD_CHOICES } from '../../ntk/method.ts';

const schema = z
  .strictObject(
    {
      examples: integer(1, 'examples of the fixed tracked set'),
      every: every(),
      iterations: powerIterations(),
      method: choice(NTK_METHOD_CHOICES, 'the NTK formed, or applied as products (matrix-free); auto takes the cheaper').optional(),
      chunk: integer(64, 'examples per matrix-free chunk, a multiple of 64').refine((v) => v % 64 === 0, { error: () => 'must be a positive multiple of 64 examples' }).optional(),
    },
    { error: () => 'must be an object' },
  )
  .describe('λ_max, the loss split and eigenvectors of a fixed set');

export const setProbe = defineProbe({
  key: 'set',
  schema,
  slots: ['lambda', 'residual', 'loss', 'topProjection'],
  fields: {
    lambda: { label: 'λ_max of the tracked set’s NTK' },
    lambdaResidual: { label: 'its relative residual ‖Kv − λv‖/λ' },
    setLoss: { label: 'the tracked set’s loss' },
    lossTop: { label: 'L≤1, the set’s loss in the top eigendirection' },
    lossRest: { label: 'L>1, the rest of the set’s loss' },
  },
  eigenvalues: [{ value: 'lambda', residual: 'lambdaResidual', label: 'λ_max of the tracked set’s NTK' }],
  setProducts: (c) => c.iterations ?? DEFAULT_ITERATIONS,
  check(c, _tracking, trainSize) {
    if (trainSize !== undefined && c.examples > trainSize) throw new RangeError(`tracking.set.examples ${c.examples} is more than the ${trainSize} training examples`);
  },
  create(setup, config) {
    return new SetProbe(setup, config);
  },
});

class SetProbe {
  readonly power: PowerIteration;
  readonly due: (t: number) => boolean;

  constructor(
    private readonly setup: ProbeSetup,
    private readonly config: z.infer<typeof schema>,
  ) {
    this.due = dueEvery(config.every);
    this.power = new PowerIteration(setup.gpu, config.examples * setup.net.outputs, 1);
  }

  async record(ctx: StepContext): Promise<void> {
    const { operator, residual } = await ctx.set!.evaluate();
    ctx.step.copy(this.setup.set!.lossSum, ctx.metrics, 4, 0, ctx.slot('loss') * 4);
    await recordPower(ctx, this.power, operator, this.config.iterations);
    await reduce(ctx.step, 'dot', this.power.v, residual, ctx.metrics, ctx.slot('topProjection'));
  }

  read(ctx: ReadContext) {
    if (!this.due(ctx.t)) return {};
    const n = this.config.examples;
    const setLoss = ctx.value('loss') / n;
    const lossTop = ctx.value('topProjection') ** 2 / n;
    return { lambda: ctx.value('lambda'), lambdaResidual: ctx.value('residual'), setLoss, lossTop, lossRest: setLoss - lossTop };
  }

  warmStarts(): Record<string, PowerIteration> {
    return { set: this.power };
  }

  destroy(): void {
    this.power.destroy();
  }
}
