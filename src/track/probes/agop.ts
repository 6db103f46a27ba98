// AGOP alignment on the tracked set: cos(G, G*) of the network's average gradient outer product G with the
// task's true EGOP (synthetic tasks) or, given `reference` (a checkpoint of a network on the same inputs), that
// network's AGOP on the set, the paper's stand-in for G* on real data.
import { z } from 'zod';
import { reduce } from '../../kernels/ops.ts';
import { NetworkAgop } from '../../ntk/agop.ts';
import { every, text } from '../../util/schema-fields.ts';
import { defineProbe, dueEvery, type ReadContext, type StepContext } from '../probe.ts';

const schema = z
  .strictObject({ every: every(), reference: text('a reference checkpoint (.safetensors) for real data').optional() }, { error: () => 'must be an object' })
  .describe('AGOP alignment on the tracked set');

export const agopProbe = defineProbe({
  key: 'agop',
  schema,
  slots: ['dot', 'norm'],
  fields: { alignment: { label: 'cos(AGOP, true EGOP) on the tracked set' } },
  charts: [
    {
      id: 'alignment',
      title: 'AGOP alignment cos(G, G*) between the network’s and the target’s average gradient outer products',
      yLabel: 'cosine (1 = aligned)',
      log: false,
      source: 'steps',
      series: () => [{ label: 'alignment', step: (r) => r.alignment, compare: true }],
    },
  ],
  check(_c, tracking) {
    if (!tracking.set) throw new RangeError('tracking.agop needs tracking.set: the AGOP is measured on the tracked set');
  },
  create({ gpu, net, set, egop }, config) {
    if (!egop) throw new RangeError('tracking.agop needs a task with a known true EGOP (the synthetic tasks) or tracking.agop.reference, a reference network');
    const d = net.inputSize;
    let normStar = 0;
    for (const v of egop) normStar += v * v;
    normStar = Math.sqrt(normStar);
    const G = gpu.matrix('AGOP', d, d);
    const Gstar = gpu.matrix('reference EGOP', d, d, Float32Array.from(egop));
    const agop = new NetworkAgop(gpu, net, set!.n);
    const due = dueEvery(config.every);
    return {
      due,
      async record(ctx: StepContext) {
        await agop.record(ctx.step, set!.X, G, { tape: (await ctx.set!.forward()) ?? undefined });
        await reduce(ctx.step, 'dot', G, Gstar, ctx.metrics, ctx.slot('dot'));
        await reduce(ctx.step, 'norm', G, null, ctx.metrics, ctx.slot('norm'));
      },
      read: (ctx: ReadContext) => (due(ctx.t) ? { alignment: ctx.value('dot') / (ctx.value('norm') * normStar) } : {}),
      destroy() {
        agop.destroy();
        G.buffer.destroy();
        Gstar.buffer.destroy();
      },
    };
  },
});
