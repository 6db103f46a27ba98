// The catapult command line. Exit codes: 0 done, 1 failed, 2 bad arguments, 3 no WebGPU adapter.
import { parseArgs } from 'node:util';
import { NoAdapterError } from '../gpu/errors.ts';
import { runDemo } from '../run/kernel-demo.ts';
import { requestNodeGpu } from './node-gpu.ts';

const USAGE = `usage: catapult <command> [options]

commands:
  demo      run the kernels once on this machine's adapter and print what ran where
            --seed N (default 0)  --n N (128)  --d N (784)  --width N (1024)
            --adapter auto|hardware|swiftshader (default auto: hardware, else SwiftShader on the CPU)
  help      this text
`;

export class UsageError extends Error {}

function positiveInt(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > 2 ** 31) throw new UsageError(`--${name} must be an integer >= ${min}, got "${value}"`);
  return n;
}

async function demo(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      seed: { type: 'string' },
      n: { type: 'string' },
      d: { type: 'string' },
      width: { type: 'string' },
      adapter: { type: 'string' },
    },
    strict: true,
  });
  const adapter = values.adapter ?? 'auto';
  if (!['auto', 'hardware', 'swiftshader'].includes(adapter)) {
    throw new UsageError(`--adapter must be auto, hardware or swiftshader, got "${adapter}"`);
  }
  const options = {
    seed: positiveInt('seed', values.seed, 0, 0),
    n: positiveInt('n', values.n, 128),
    d: positiveInt('d', values.d, 784),
    width: positiveInt('width', values.width, 1024),
  };
  const gpu = await requestNodeGpu({ adapter: adapter as 'auto' });
  try {
    console.log('catapult-lab kernel demo');
    await runDemo(gpu, options, (line) => console.log(line));
  } finally {
    gpu.destroy();
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'demo':
        await demo(rest);
        return 0;
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return 0;
      default:
        throw new UsageError(command ? `unknown command "${command}"` : 'no command given');
    }
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`catapult: ${(e as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (e instanceof NoAdapterError) {
      process.stderr.write(`catapult: ${e.message}\n`);
      return 3;
    }
    throw e;
  }
}
