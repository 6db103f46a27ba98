// The catapult command line. Exit codes: 0 done, 1 failed, 2 bad arguments, 3 no WebGPU adapter, 130 stopped by Ctrl-C.
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { adapterLine, describeAdapter } from '../gpu/gpu.ts';
import { Trainer, validateTrainConfig, type TrainConfig } from '../run/train.ts';
import { readDataFile } from './data-files.ts';
import { NoAdapterError } from '../gpu/errors.ts';
import { runDemo } from '../run/kernel-demo.ts';
import { ADAPTER_CHOICES, adapterChoice, requestNodeGpu, type AdapterChoice } from './node-gpu.ts';
import { basename, dirname, join } from 'node:path';
import { decodeCheckpoint } from '../run/checkpoint.ts';
import { PRESETS, SCALES, findPreset, parseValue, resolvePreset, type Scale } from '../run/presets.ts';
import { parseAssignment, runExperiment, runSweep } from './experiment.ts';
import { writeReport } from './report.ts';

const USAGE = `usage: catapult <command> [options]

commands:
  demo      run the kernels once on this machine's adapter and print what ran where
            --seed N (default 0)  --n N (128)  --d N (784)  --width N (1024)
            --adapter auto|hardware|lavapipe|swiftshader (every command that uses a GPU; default: the
            CATAPULT_ADAPTER variable, else auto = a hardware adapter, else lavapipe, else SwiftShader)
  list      the presets (every experiment of the paper and the report)
  show      the resolved config of a preset as JSON:  catapult show PRESET [--scale quick|paper] [--variant V] [--set key=value ...]
  run       run a preset headless into a folder: metrics.jsonl, metrics.csv, summary.json, report.html, PNGs
            catapult run PRESET [--set key=value ...] [--seed N] [--scale quick|paper] [--variant V] [--out DIR]
                                [--save-at STEPS (comma list)] [--no-report] [--adapter ...]
            catapult run --resume DIR/checkpoint-S.safetensors [--out DIR]
  sweep     every combination of a grid, N seeds each, with an aggregate table and a report; resumes when rerun
            catapult sweep PRESET [--grid key=v1,v2,... ...] [--seeds N] [--scale ...] [--set ...] [--out DIR] [--adapter ...]
            (no --grid: the preset's own sweep, where it has one)
  adapters  which WebGPU drivers Dawn takes on this machine (hardware, lavapipe, SwiftShader) and which
            one --adapter auto (the default) picks
  report    (re)write report.html and its PNG charts for a run or sweep folder:  catapult report DIR
  train     train a network from a JSON config (README: "Training configs") and print its metrics
            catapult train CONFIG.json [--steps N] [--seed N] [--out METRICS.jsonl] [--adapter ...]
  help      this text

Exit codes: 0 done, 1 failed, 2 bad arguments or config values, 3 no WebGPU adapter, 130 stopped by Ctrl-C
(a run or sweep stopped by Ctrl-C keeps every metric and summary it wrote).
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
  const adapter = adapterOption(values.adapter);
  const options = {
    seed: positiveInt('seed', values.seed, 0, 0),
    n: positiveInt('n', values.n, 128),
    d: positiveInt('d', values.d, 784),
    width: positiveInt('width', values.width, 1024),
  };
  const gpu = await requestNodeGpu({ adapter });
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
  const gpu = await requestNodeGpu({ adapter: adapterOption(values.adapter) });
  const sink = values.out ? createWriteStream(values.out) : null;
  try {
    console.log(adapterLine(gpu.adapter));
    // What only the data can check (the model's shapes against the images, the batch against the set) is a config error too.
    const trainer = await asUsage(() => Trainer.create(gpu, config, readDataFile));
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

/** --adapter, else CATAPULT_ADAPTER, else auto; an unknown value is a usage error naming the choices. */
function adapterOption(value: string | undefined): AdapterChoice {
  try {
    return value === undefined ? adapterChoice() : adapterChoice(value);
  } catch (e) {
    throw new UsageError(`${(e as Error).message} (choices: ${ADAPTER_CHOICES.join(', ')})`);
  }
}

function scaleOption(value: string | undefined): Scale {
  const scale = value ?? 'quick';
  if (!SCALES.includes(scale as Scale)) throw new UsageError(`--scale must be one of ${SCALES.join(', ')}, got "${scale}"`);
  return scale as Scale;
}

/** --set key=value pairs, values parsed (numbers, lists, JSON); a malformed one is a usage error. */
function assignments(list: string[] | undefined): [string, unknown][] {
  return (list ?? []).map((text) => {
    try {
      const [key, value] = parseAssignment(text, '--set');
      return [key, parseValue(value)];
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  });
}

/** Config errors (RangeError from validation) are the user's: exit code 2 with the message. */
async function asUsage<T>(f: () => T | Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(e.message);
    throw e;
  }
}

function list(): void {
  const width = Math.max(...PRESETS.map((p) => p.name.length));
  console.log('presets (catapult run NAME; --scale paper for the paper\'s sizes):');
  for (const p of PRESETS) console.log(`  ${p.name.padEnd(width)}  ${p.paper.padEnd(26)}  ${p.summary}`);
}

async function show(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, options: { scale: { type: 'string' }, variant: { type: 'string' }, set: { type: 'string', multiple: true } }, allowPositionals: true, strict: true });
  if (positionals.length !== 1) throw new UsageError('show takes one preset: catapult show PRESET');
  const config = await asUsage(() => {
    const c = resolvePreset(positionals[0], { scale: scaleOption(values.scale), variant: values.variant, set: assignments(values.set) });
    validateTrainConfig(c);
    return c;
  });
  console.log(JSON.stringify(config, null, 2));
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      set: { type: 'string', multiple: true },
      seed: { type: 'string' },
      scale: { type: 'string' },
      variant: { type: 'string' },
      out: { type: 'string' },
      'save-at': { type: 'string' },
      resume: { type: 'string' },
      'no-report': { type: 'boolean' },
      adapter: { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  const resume = values.resume;
  if (resume ? positionals.length > 1 : positionals.length !== 1) throw new UsageError('run takes one preset: catapult run PRESET [options], or catapult run --resume CHECKPOINT');
  let preset = positionals[0];
  if (resume) {
    const saved = await asUsage(async () => {
      const file = await readFile(resume).catch((e: NodeJS.ErrnoException) => {
        throw new RangeError(`--resume ${resume}: ${e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'a folder, not a checkpoint file' : e.message}`);
      });
      return decodeCheckpoint(new Uint8Array(file));
    });
    // A resumed run continues the checkpoint's run: anything that would change it is refused, not ignored.
    const differs = (what: string, given: unknown, saved: unknown) => new UsageError(`--resume ${resume}: ${what} ${JSON.stringify(given)} disagrees with the checkpoint's ${JSON.stringify(saved)}; a resumed run continues the run it saved (leave ${what} out)`);
    if (preset !== undefined && preset !== saved.metadata.preset) throw differs('the preset', preset, saved.metadata.preset ?? null);
    if (values.seed !== undefined && Number(values.seed) !== saved.seed) throw differs('--seed', values.seed, saved.seed);
    if (values.scale !== undefined && values.scale !== saved.metadata.scale) throw differs('--scale', values.scale, saved.metadata.scale ?? null);
    if (values.variant !== undefined && values.variant !== saved.metadata.variant) throw differs('--variant', values.variant, saved.metadata.variant ?? null);
    if ((values.set ?? []).length > 0) throw new UsageError(`--resume ${resume}: --set ${values.set![0]} would change the checkpoint's config; a resumed run continues the run it saved (leave --set out)`);
    preset ??= saved.metadata.preset;
  }
  const saveAt = (values['save-at'] ?? '')
    .split(',')
    .filter((s) => s.trim() !== '')
    .map((s) => positiveInt('save-at', s.trim(), 0, 0));
  const scale = scaleOption(values.scale);
  const set = assignments(values.set);
  const seed = values.seed === undefined ? undefined : positiveInt('seed', values.seed, 0, 0);
  // Validate before asking for a device, so a bad config fails fast with code 2.
  if (!resume) await asUsage(() => validateTrainConfig(resolvePreset(preset, { scale, variant: values.variant, set, seed })));
  const out = values.out ?? (resume ? join(dirname(resume), `resumed-from-${basename(resume).replace(/\D+/g, '')}`) : join('runs', `${preset}${values.variant ? `-${values.variant}` : ''}-seed${seed ?? resolvePreset(preset, { scale }).seed}`));
  const gpu = await requestNodeGpu({ adapter: adapterOption(values.adapter) });
  try {
    const summary = await asUsage(() => runExperiment(gpu, { preset, variant: values.variant, scale, set, seed, out, saveAt, resume, report: !values['no-report'] }));
    return summary.status === 'stopped' ? INTERRUPTED : 0;
  } finally {
    gpu.destroy();
  }
}

/** The exit code of a run or sweep that Ctrl-C stopped (128 + SIGINT), after writing what it had. */
const INTERRUPTED = 130;

async function sweep(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      grid: { type: 'string', multiple: true },
      seeds: { type: 'string' },
      scale: { type: 'string' },
      set: { type: 'string', multiple: true },
      out: { type: 'string' },
      'no-report': { type: 'boolean' },
      adapter: { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError('sweep takes one preset: catapult sweep PRESET --grid key=v1,v2 [--seeds N]');
  const preset = await asUsage(() => findPreset(positionals[0]));
  let grid: [string, unknown[]][] = (values.grid ?? []).map((text) => {
    try {
      const [key, value] = parseAssignment(text, '--grid');
      const parsed = parseValue(value);
      return [key, Array.isArray(parsed) ? parsed : [parsed]];
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  });
  if (grid.length === 0) {
    if (!preset.sweep) throw new UsageError(`preset "${preset.name}" has no sweep of its own: give --grid key=v1,v2`);
    grid = Object.entries(preset.sweep.grid);
  }
  const seeds = positiveInt('seeds', values.seeds, preset.sweep?.seeds ?? 1);
  const gpu = await requestNodeGpu({ adapter: adapterOption(values.adapter) });
  try {
    const r = await asUsage(() =>
      runSweep(gpu, { preset: preset.name, scale: scaleOption(values.scale), grid, seeds, set: assignments(values.set), out: values.out ?? join('runs', `sweep-${preset.name}`), report: !values['no-report'] }),
    );
    console.log(`sweep ${r.interrupted ? 'interrupted' : 'done'}: ${r.ran} run(s) now, ${r.skipped} kept from before`);
    return r.interrupted ? INTERRUPTED : 0;
  } finally {
    gpu.destroy();
  }
}

/** Each driver Dawn can be given here, what it made of it, and auto's choice; exit 3 when none works. */
async function adapters(argv: string[]): Promise<void> {
  parseArgs({ args: argv, options: {}, strict: true });
  let any = false;
  for (const choice of ADAPTER_CHOICES.filter((c) => c !== 'auto')) {
    try {
      const gpu = await requestNodeGpu({ adapter: choice });
      console.log(`${choice}: ${describeAdapter(gpu.adapter)}, ${gpu.limits.maxStorageBufferBindingSize / 2 ** 20} MiB per storage binding${gpu.subgroups ? `, subgroups ${gpu.adapter.subgroupSizes?.join('-') ?? ''}` : ''}`);
      gpu.destroy();
      any = true;
    } catch (e) {
      if (!(e instanceof NoAdapterError)) throw e;
      console.log(`${choice}: none (${e.message})`);
    }
  }
  if (!any) throw new NoAdapterError('no WebGPU driver works on this machine; see above for each one');
  const gpu = await requestNodeGpu({ adapter: 'auto' });
  console.log(`auto takes ${gpu.adapter.kind}: ${gpu.adapter.note}`);
  gpu.destroy();
}

async function report(argv: string[]): Promise<void> {
  const { positionals } = parseArgs({ args: argv, options: {}, allowPositionals: true, strict: true });
  if (positionals.length !== 1) throw new UsageError('report takes one folder: catapult report DIR');
  const files = await asUsage(() => writeReport(positionals[0]));
  for (const f of files) console.log(f);
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
      case 'list':
        list();
        return 0;
      case 'show':
        await show(rest);
        return 0;
      case 'run':
        return await run(rest);
      case 'sweep':
        return await sweep(rest);
      case 'adapters':
        await adapters(rest);
        return 0;
      case 'report':
        await report(rest);
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
