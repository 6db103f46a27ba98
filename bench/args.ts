// What every benchmark takes on its command line: --adapter (else CATAPULT_ADAPTER, else auto), --out (the
// results file, bench/RESULTS.md by default) and --quick, and the device with its adapter line printed first.
import { parseArgs } from 'node:util';
import { adapterChoice, requestNodeGpu } from '../src/cli/node-gpu.ts';
import { adapterLine, type Gpu } from '../src/gpu/gpu.ts';

export interface BenchArgs {
  out: string;
  quick: boolean;
  gpu: Gpu;
  /** The benchmark's own string options, by name. */
  extra: Record<string, string | undefined>;
}

/** Parses the common options and `extra` string options (name → default), then acquires the device. */
export async function benchSetup(extra: Record<string, string> = {}): Promise<BenchArgs> {
  const options: Record<string, { type: 'string' | 'boolean' }> = { adapter: { type: 'string' }, out: { type: 'string' }, quick: { type: 'boolean' } };
  for (const name of Object.keys(extra)) options[name] = { type: 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ options, strict: true }));
  } catch (e) {
    const own = Object.keys(extra).map((n) => `  --${n} (${extra[n]})`).join('');
    console.error(`${(e as Error).message}\nbenchmark options: --adapter auto|hardware|lavapipe|swiftshader  --out FILE  --quick${own}`);
    process.exit(2);
  }
  let adapter;
  try {
    adapter = adapterChoice((values.adapter as string | undefined) ?? process.env.CATAPULT_ADAPTER);
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
  const gpu = await requestNodeGpu({ adapter });
  console.log(`${adapterLine(gpu.adapter)}\n`);
  const own = Object.fromEntries(Object.keys(extra).map((n) => [n, (values[n] as string | undefined) ?? extra[n]]));
  return { out: (values.out as string | undefined) ?? 'bench/RESULTS.md', quick: values.quick === true, gpu, extra: own };
}
