// The catapult command line. Exit codes: 0 done, 1 failed, 2 bad arguments, 3 no WebGPU adapter.
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { describeAdapter } from '../gpu/gpu.ts';
import { Trainer, validateTrainConfig, type TrainConfig } from '../run/train.ts';
import { readDataFile } from './data-files.ts';
import { NoAdapterError } from '../gpu/errors.ts';
import { runDemo } from '../run/kernel-demo.ts';
import { requestNodeGpu } from './node-gpu.ts';

const USAGE = `usage: catapult <command> [options]

commands:
  demo      run the kernels once on this machine's adapter and print what ran where
            --seed N (default 0)  --n N (128)  --d N (784)  --width N (1024)
            --adapter auto|hardware|swiftshader (default auto: hardware, else SwiftShader on the CPU)
  train     train a network from a JSON config (README: "Training configs") and print its metrics
            catapult train CONFIG.json [--steps N] [--seed N] [--out METRICS.jsonl] [--adapter ...]
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

async function train(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { steps: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' }, adapter: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError('train takes one config file: catapult train CONFIG.json');
  let config: TrainConfig;
  try {
    config = JSON.parse(await readFile(positionals[0], 'utf8'));
  } catch (e) {
    throw new UsageError(`cannot read config ${positionals[0]}: ${(e as Error).message}`);
  }
  if (values.steps !== undefined) config.steps = positiveInt('steps', values.steps, 0, 0);
  if (values.seed !== undefined) config.seed = positiveInt('seed', values.seed, 0, 0);
  try {
    validateTrainConfig(config);
  } catch (e) {
    throw new UsageError(`config ${positionals[0]}: ${(e as Error).message}`);
  }
  const gpu = await requestNodeGpu({ adapter: (values.adapter ?? 'auto') as 'auto' });
  const sink = values.out ? createWriteStream(values.out) : null;
  try {
    console.log(`adapter: ${describeAdapter(gpu.adapter)}`);
    const trainer = await Trainer.create(gpu, config, readDataFile);
    const d = trainer.data.train;
    console.log(`data: ${d.name}, ${d.n} examples of ${d.d} → ${d.k}; model: ${trainer.net.layout.count} parameters; seed ${config.seed}`);
    const result = await trainer.run({
      onMetrics(records, evals) {
        for (const r of records) sink?.write(`${JSON.stringify({ type: 'step', ...r })}\n`);
        for (const e of evals) sink?.write(`${JSON.stringify({ type: 'eval', ...e })}\n`);
        const last = records[records.length - 1];
        if (last) console.log(`step ${last.step}  lr ${last.lr}  loss ${last.loss.toPrecision(5)}${last.accuracy !== undefined ? `  acc ${last.accuracy.toFixed(3)}` : ''}`);
        for (const e of evals) {
          const parts = Object.entries(e)
            .filter(([k]) => k !== 'step')
            .map(([k, v]) => `${k} ${(v as number).toPrecision(4)}`);
          console.log(`eval at step ${e.step}: ${parts.join('  ')}`);
        }
      },
    });
    console.log(`status: ${result.status} after ${result.steps} steps${result.message ? ` (${result.message})` : ''}`);
    trainer.destroy();
  } finally {
    sink?.end();
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
      case 'train':
        await train(rest);
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
