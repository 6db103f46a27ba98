// The whole-training-set NTK without forming it: λ_max of K over all 10,000 bundled MNIST digits (scalar
// output, 2-layer ReLU net, NTK parameterization) by power iteration on the matrix-free product
// K·v = J(Jᵀv), against what forming K would take (n² floats; the structured method's flops).
// Usage: npm run bench:matrix-free [-- --width 256 --iterations 10]
import { loadBundledMnist } from '../src/cli/data-files.ts';
import type { Gpu } from '../src/gpu/gpu.ts';
import { buildNetwork } from '../src/nn/graph.ts';
import { MatrixFreeNtk } from '../src/ntk/matrix-free.ts';
import { PowerIteration } from '../src/ntk/spectrum.ts';
import { provenance, type BenchTable } from './results-file.ts';

/** λ_max over all bundled digits by matrix-free power iteration, against what forming K would take. */
export async function matrixFreeTable(gpu: Gpu, options: { width: number; iterations: number; log?: (line: string) => void }): Promise<BenchTable> {
  const { width, iterations } = options;
  const log = options.log ?? console.log;
  const data = await loadBundledMnist({ classes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] });
  const n = data.n;
  const d = data.d;
  const net = buildNetwork(gpu, { hidden: [width] }, [d, 1, 1], 1, 1);
  const X = gpu.matrix('all digits', n, d, data.x);
  const op = new MatrixFreeNtk(gpu, net, X);
  const power = new PowerIteration(gpu, n, 2);
  await power.run(op, { maxIterations: 1 }); // compiles every pipeline
  const t0 = performance.now();
  const r = await power.run(op, { maxIterations: iterations, tolerance: 0, checkEvery: iterations });
  const perProduct = (performance.now() - t0) / iterations;
  // One product: forward and backward over the set, a second forward (chunks of 2048), and forward mode.
  const P = d * width + width + width;
  const flops = 2 * n * P * 4;
  const structuredFlops = 2 * n * n * (d + width + 1);
  const row = [
    `MNIST n = ${n}, d = ${d}, width ${width}`,
    perProduct.toFixed(0),
    (flops / perProduct / 1e6).toFixed(2),
    `${r.lambda.toPrecision(6)} (${r.iterations} it., residual ${r.residual.toExponential(1)})`,
    `${((n * n * 4) / 2 ** 20).toFixed(0)} MiB, ${(structuredFlops / 1e9).toFixed(0)} GFLOP`,
  ];
  log(row.join('  |  '));
  op.destroy();
  power.destroy();
  net.destroy();
  return {
    id: 'matrix-free',
    title: 'Matrix-free NTK',
    description:
      `${provenance()} Wall time per product K·v = J(Jᵀv) over all bundled MNIST digits (chunks of 2048), in ${iterations} power ` +
      'iterations after one to compile; GFLOP/s counts 4 passes of 2·n·parameters. λ_max after those iterations, with its residual ' +
      '‖Kv − λv‖/λ. Last column: what forming K would take instead.',
    columns: ['set and network', 'ms per K·v', 'GFLOP/s', 'λ_max', 'forming K: memory, flops'],
    rows: [row],
  };
}
