// The critical rate at initialization that lrUnit states rates in: the whole training set's η_crit = n/λ_max(K)
// ('eta-crit'), or the median over examples of the single-example critical rate 1/K(x_i, x_i)
// ('example-eta-crit', for SGD at batch size 1).
import type { Gpu } from '../gpu/gpu.ts';
import type { Matrix } from '../gpu/matrix.ts';
import type { Network } from '../nn/network.ts';
import { NtkGram } from '../ntk/gram.ts';
import { MatrixFreeNtk } from '../ntk/matrix-free.ts';
import { PowerIteration } from '../ntk/spectrum.ts';
import type { LrUnit } from './train-config.ts';

/** Training sets up to this n·k have their NTK formed for it; larger ones are applied matrix-free. */
const FORMED_MAX = 4096;

export interface InitialRate {
  unit: LrUnit;
  value: number;
  lambda?: number;
}

/** Measures the critical rate of `unit` for the n training inputs X (k outputs) at the current parameters. */
export async function initialCriticalRate(gpu: Gpu, net: Network, X: Matrix, unit: Exclude<LrUnit, 'absolute'>, adopt: (v: Matrix) => void): Promise<InitialRate> {
  const n = X.rows;
  const k = net.outputs;
  const nk = n * k;
  let rate: InitialRate;
  if (unit === 'eta-crit') {
    const K = nk <= FORMED_MAX ? gpu.matrix('initial NTK', nk, nk) : null;
    const gram = new NtkGram(gpu, net);
    const op = K ? null : new MatrixFreeNtk(gpu, net, X);
    if (K) {
      const step = gpu.step('initial NTK');
      await gram.form(step, X, K);
      gpu.submit(step);
    }
    const power = new PowerIteration(gpu, nk, 11);
    const r = await power.run(K ?? op!, { tolerance: 1e-5, maxIterations: 300 });
    adopt(power.v);
    await gpu.done();
    for (const x of [gram, op, power]) x?.destroy();
    K?.buffer.destroy();
    rate = { unit, value: n / r.lambda, lambda: r.lambda };
  } else {
    if (nk > FORMED_MAX) throw new RangeError(`lrUnit "example-eta-crit" forms the training set's NTK: n·k = ${nk} must be at most ${FORMED_MAX}`);
    const gram = new NtkGram(gpu, net);
    const values = await gram.formed(X);
    gram.destroy();
    // The single-example NTK of example i is the k×k block of its outputs; its λ_max is at least the
    // largest diagonal entry, which for k = 1 is all of it.
    const rates = Array.from({ length: n }, (_, i) => {
      let top = 0;
      for (let a = 0; a < k; a++) top = Math.max(top, values[(a * n + i) * nk + a * n + i]);
      return 1 / top;
    }).sort((p, q) => p - q);
    rate = { unit, value: rates[Math.floor(n / 2)] };
  }
  if (!(rate.value > 0 && Number.isFinite(rate.value))) throw new RangeError(`the critical rate at initialization is ${rate.value}: the network's NTK is zero or not finite`);
  return rate;
}
