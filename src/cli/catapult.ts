// The catapult command line. Exit codes (EXIT_CODES below, and the README): 0 done, 1 internal fault, 2 bad input, 3 no WebGPU adapter, 130 stopped by Ctrl-C.
import { createWriteStream, existsSync, openSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { adapterLine, describeAdapter } from '../gpu/gpu.ts';
import { Trainer, validateTrainConfig, type TrainConfig } from '../run/train.ts';
import { readDataFile } from './data-files.ts';
import { NoAdapterError } from '../gpu/errors.ts';
import { runDemo } from '../run/kernel-demo.ts';
import { ADAPTER_CHOICES, adapterChoice, requestNodeGpu, type AdapterChoice } from './node-gpu.ts';
import { basename, dirname, join, resolve } from 'node:path';
import { decodeCheckpoint } from '../run/checkpoint.ts';
import { PRESETS, SCALES, parseValue, resolvePreset, type Preset, type Scale } from '../run/presets.ts';
import { checkSource, runSource } from './run-source.ts';
import { exportStateDict } from './export-state.ts';
import { mergeSweeps, parseAssignment, runExperiment, runSweep } from './experiment.ts';
import { writeReport } from './report.ts';
import { labSite, scanRunFolders, serveLab } from './lab-server.ts';
import { metricsLine } from '../run/export.ts';
import { toJson } from '../run/json-numbers.ts';
import { configJsonSchema } from '../config/schema.ts';
import { codeVersion, packageVersion } from './version.ts';
import { fileProblem } from './file-problem.ts';

/** Each command: what it does and how it is called; a usage error prints its command's usage only. */
const COMMANDS: Record<string, { about: string; usage: string }> = {
  demo: {
    about: "run the kernels once on this machine's adapter and print what ran where",
    usage: `catapult demo [--seed N (0)] [--n N (128)] [--d N (784)] [--width N (1024)] [--adapter ...]
  --adapter auto|hardware|lavapipe|swiftshader (every command that uses a GPU; default: the
  CATAPULT_ADAPTER variable, else auto = a hardware adapter, else lavapipe, else SwiftShader)`,
  },
  list: { about: 'the presets (every experiment of the paper and the report)', usage: 'catapult list [--json]' },
  show: { about: 'the resolved config of a preset, config file or ONNX model as JSON', usage: 'catapult show PRESET|CONFIG.json|MODEL.onnx [--data X.npy,Y.npy] [--scale quick|paper] [--variant V] [--set key=value ...] [--json]' },
  run: {
    about: 'run a preset, a config file or an ONNX model headless into a folder: metrics, summary, report, charts',
    usage: `catapult run PRESET [--set key=value ...] [--seed N] [--scale quick|paper] [--variant V] [--out DIR]
                    [--save-at STEPS (comma list)] [--no-report] [--adapter ...] [--json]
catapult run CONFIG.json [--set ...] [--seed N] [--out DIR] [--save-at ...] ...   (README: "Training configs")
catapult run MODEL.onnx --data X.npy,Y.npy [--set ...] ...   (README: "Bring your own PyTorch model")
catapult run --resume DIR/checkpoint-S.safetensors [--out DIR] [--json]
  --json: the run's summary as one JSON object on stdout, progress on stderr. A file's run is named after
  it (runs/NAME-seedN); an ONNX model's run also keeps its final weights for catapult export`,
  },
  export: {
    about: 'an ONNX model\'s trained weights as the state dict of the PyTorch module it was exported from',
    usage: `catapult export RUN_DIR|CHECKPOINT.safetensors [--to pytorch] [--out FILE (RUN_DIR/state_dict.safetensors)]
  (safetensors with the module's names, shapes and scale; load_state_dict(sd, strict=True) takes it)`,
  },
  sweep: {
    about: 'every combination of a grid, N seeds each, with an aggregate table and a report; resumes when rerun',
    usage: `catapult sweep PRESET [--grid key=v1,v2,... ...] [--seeds N] [--scale ...] [--set ...] [--out DIR] [--adapter ...]
                      [--shard I/N]
catapult sweep --merge DIR... [--out DIR]
  (no --grid: the preset's own sweep, where it has one; --shard I/N runs the I-th of N disjoint parts, one
  per machine, into a shared or its own folder; --merge aggregates the parts and names runs missing or
  duplicated)`,
  },
  adapters: { about: 'which WebGPU drivers Dawn takes on this machine (hardware, lavapipe, SwiftShader) and which one --adapter auto picks', usage: 'catapult adapters' },
  report: { about: '(re)write report.html and its SVG and PNG charts for a run or sweep folder', usage: 'catapult report DIR' },
  lab: {
    about: 'serve the lab on localhost with every run folder under DIR listed; running runs grow live',
    usage: `catapult lab [DIR (runs)] [--port N (5178; 0: any free port)]
  (a sweep folder's runs are listed one by one; the page asks for new metrics every second; Ctrl-C stops it)`,
  },
  train: { about: 'the same as catapult run CONFIG.json (it was a separate command that wrote only metrics.jsonl)', usage: 'catapult train CONFIG.json [every option of catapult run]' },
  schema: { about: 'the JSON Schema of a training config (every key, its type, range or choices, and help), for editors', usage: 'catapult schema > catapult-config.schema.json' },
  help: { about: 'every command, or one command\'s help', usage: 'catapult help [COMMAND]    (also: catapult COMMAND --help)' },
  version: { about: 'the package version and the code version (git commit) of this copy', usage: 'catapult --version' },
};

const indent = (text: string, by: string) => text.replace(/^/gm, by);

/** One command's help: what it does and how it is called. */
const commandHelp = (name: string) => `catapult ${name}: ${COMMANDS[name].about}\nusage: ${indent(COMMANDS[name].usage, '       ').trimStart()}\n`;

const EXIT_CODES = `Exit codes: 0 done (also a run that diverged: its records are the result), 1 an internal fault (a bug),
2 bad arguments, config values or input files, 3 no WebGPU adapter, 130 stopped by Ctrl-C (a run or sweep
stopped by Ctrl-C keeps every metric and summary it wrote). --debug (or CATAPULT_DEBUG=1) prints the stack
trace of an internal fault.`;

const USAGE = `usage: catapult <command> [options]

commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(9)} ${c.about}\n${indent(c.usage, '            ')}`).join('\n')}

${EXIT_CODES}
`;

export class UsageError extends Error {}

function positiveInt(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  // Decimal digits only: Number() would also take "", "0x10" and "1e3".
  const n = /^-?\d{1,16}$/.test(value) ? Number(value) : NaN;
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
      try {
        return [key, parseValue(value)];
      } catch (e) {
        throw new UsageError(`--set ${key}: ${(e as Error).message}`);
      }
    } catch (e) {
      throw e instanceof UsageError ? e : new UsageError((e as Error).message);
    }
  });
}

/** --scale for a preset; a config file or ONNX model has one scale, the one it says, so --scale is refused for it. */
function sourceScale(source: Preset, value: string | undefined): Scale {
  if (source.file && value !== undefined) throw new UsageError(`--scale ${value}: ${source.file.path} is not a preset and has one scale, its own; change its sizes with --set`);
  return scaleOption(value);
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

function list(argv: string[]): void {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' } }, strict: true });
  if (values.json) {
    const presets = PRESETS.map((p) => ({ name: p.name, paper: p.paper, summary: p.summary, variants: Object.keys(p.variants ?? {}), sweep: p.sweep ?? null, headline: p.headline }));
    console.log(toJson({ presets }));
    return;
  }
  const width = Math.max(...PRESETS.map((p) => p.name.length));
  console.log('presets (catapult run NAME; --scale paper for the paper\'s sizes):');
  for (const p of PRESETS) console.log(`  ${p.name.padEnd(width)}  ${p.paper.padEnd(26)}  ${p.summary}`);
}

async function show(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, options: { scale: { type: 'string' }, variant: { type: 'string' }, set: { type: 'string', multiple: true }, data: { type: 'string' }, json: { type: 'boolean' } }, allowPositionals: true, strict: true });
  if (positionals.length !== 1) throw new UsageError('show takes one preset: catapult show PRESET (or a config file, or an ONNX model)');
  const config = await asUsage(async () => {
    const source = runSource(positionals[0], values.data);
    const c = resolvePreset(source, { scale: sourceScale(source, values.scale), variant: values.variant, set: assignments(values.set) });
    await checkSource(source, c);
    return c;
  });
  // The config is JSON either way; --json prints it on one line, as every --json output is.
  console.log(values.json ? toJson(config) : JSON.stringify(config, null, 2));
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
      json: { type: 'boolean' },
      data: { type: 'string' },
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
        throw new RangeError(`--resume ${resume}: ${fileProblem(e, 'read')}`);
      });
      try {
        return decodeCheckpoint(new Uint8Array(file));
      } catch (e) {
        throw e instanceof RangeError ? new RangeError(`--resume ${resume}: ${e.message}`) : e;
      }
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
  const set = assignments(values.set);
  const seed = values.seed === undefined ? undefined : positiveInt('seed', values.seed, 0, 0);
  // A resumed run's source comes from its checkpoint; otherwise the preset, config file or ONNX model named.
  const source = resume ? preset : await asUsage(() => runSource(preset!, values.data));
  const scale = typeof source === 'string' ? scaleOption(values.scale) : sourceScale(source, values.scale);
  // Validate before asking for a device, so a bad config fails fast with code 2.
  if (!resume) await asUsage(() => checkSource(source as Preset, resolvePreset(source!, { scale, variant: values.variant, set, seed })));
  const name = typeof source === 'string' ? source : source?.name;
  const out = values.out ?? (resume ? join(dirname(resume), `resumed-from-${basename(resume).replace(/\D+/g, '')}`) : join('runs', `${name}${values.variant ? `-${values.variant}` : ''}-seed${seed ?? resolvePreset(source!, { scale }).seed}`));
  const gpu = await requestNodeGpu({ adapter: adapterOption(values.adapter) });
  try {
    // --json: the summary is the one thing on stdout; every line of progress goes to stderr.
    const log = values.json ? (line: string) => process.stderr.write(`${line}\n`) : undefined;
    const summary = await asUsage(() => runExperiment(gpu, { preset: source!, variant: values.variant, scale, set, seed, out, saveAt, resume, report: !values['no-report'], log }));
    if (values.json) console.log(toJson({ out: resolve(out), ...summary }));
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
      shard: { type: 'string' },
      merge: { type: 'boolean' },
      data: { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.merge) {
    if (positionals.length === 0) throw new UsageError('sweep --merge takes the sweep folders to merge: catapult sweep --merge DIR... [--out DIR]');
    await asUsage(() => mergeSweeps(positionals, values.out ?? positionals[0], { report: !values['no-report'] }));
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('sweep takes one preset: catapult sweep PRESET --grid key=v1,v2 [--seeds N]');
  let shard: { index: number; count: number } | undefined;
  if (values.shard !== undefined) {
    const m = /^(\d{1,6})\/(\d{1,6})$/.exec(values.shard);
    shard = m ? { index: Number(m[1]), count: Number(m[2]) } : undefined;
    if (!shard || shard.count < 1 || shard.index < 1 || shard.index > shard.count) throw new UsageError(`--shard must be I/N with 1 <= I <= N (this machine's part of N), got "${values.shard}"`);
  }
  const preset = await asUsage(() => runSource(positionals[0], values.data));
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
      runSweep(gpu, { preset, scale: sourceScale(preset, values.scale), grid, seeds, set: assignments(values.set), out: values.out ?? join('runs', `sweep-${preset.name}`), report: !values['no-report'], shard }),
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

/** An ONNX model's run's weights (a run folder's last checkpoint, or the one named) as the module's state dict. */
async function exportState(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, options: { to: { type: 'string' }, out: { type: 'string' } }, allowPositionals: true, strict: true });
  if (positionals.length !== 1) throw new UsageError('export takes one run folder or checkpoint: catapult export RUN_DIR [--to pytorch]');
  if ((values.to ?? 'pytorch') !== 'pytorch') throw new UsageError(`--to must be pytorch (a state dict as safetensors), got "${values.to}"`);
  const written = await asUsage(() => exportStateDict(positionals[0], values.out));
  console.log(written);
}

async function report(argv: string[]): Promise<void> {
  const { positionals } = parseArgs({ args: argv, options: {}, allowPositionals: true, strict: true });
  if (positionals.length !== 1) throw new UsageError('report takes one folder: catapult report DIR');
  const files = await asUsage(() => writeReport(positionals[0]));
  for (const f of files) console.log(f);
}

/** Serves the lab until Ctrl-C (exit 130, as every command Ctrl-C stops). */
async function lab(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { port: { type: 'string' } }, allowPositionals: true, strict: true });
  if (positionals.length > 1) throw new UsageError(`lab takes one folder (default runs), got ${positionals.length}`);
  const dir = resolve(positionals[0] ?? 'runs');
  if (!existsSync(dir)) throw new UsageError(`${dir} does not exist: give the folder your runs are written under (catapult run --out DIR)`);
  if (!statSync(dir).isDirectory()) throw new UsageError(`${dir} is a file: give the folder your runs are written under`);
  const port = positiveInt('port', values.port, 5178, 0);
  if (port > 65535) throw new UsageError(`--port must be an integer from 0 to 65535, got "${values.port}"`);
  const site = await labSite((line) => console.error(line));
  const server = await asUsage(() => serveLab(dir, site, port));
  const runs = scanRunFolders(dir);
  console.log(`catapult lab: ${server.url} (${runs.length} run folder${runs.length === 1 ? '' : 's'} under ${dir}; Ctrl-C stops it)`);
  await new Promise<void>((done) => process.once('SIGINT', () => done()));
  await server.close();
  return INTERRUPTED;
}

/**
 * `--seed -1` as `--seed=-1`: node's parser reads a value that starts with "-" as an option, so a negative
 * number after an option that takes a value would be refused with a confusing message instead of its range.
 */
function joinNegativeValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (/^--[a-z-]+$/.test(argv[i]) && i + 1 < argv.length && /^-(\d|\.\d|Infinity|NaN)/.test(argv[i + 1])) out.push(`${argv[i]}=${argv[++i]}`);
    else out.push(argv[i]);
  }
  return out;
}

export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug') || process.env.CATAPULT_DEBUG === '1';
  const [command, ...rest] = joinNegativeValues(argv.filter((a) => a !== '--debug'));
  // CMD --help (or -h) anywhere among a command's arguments: that command's help, and nothing run.
  if (Object.hasOwn(COMMANDS, command) && (rest.includes('--help') || rest.includes('-h'))) {
    process.stdout.write(commandHelp(command));
    return 0;
  }
  try {
    switch (command) {
      case 'demo':
        await demo(rest);
        return 0;
      case 'train':
        return await run(rest);
      case 'export':
        await exportState(rest);
        return 0;
      case 'list':
        list(rest);
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
      case 'lab':
        return await lab(rest);
      case 'help':
      case '--help':
      case '-h':
        if (rest[0] !== undefined) {
          if (!Object.hasOwn(COMMANDS, rest[0])) throw new UsageError(`help: unknown command "${rest[0]}"`);
          process.stdout.write(commandHelp(rest[0]));
        } else process.stdout.write(USAGE);
        return 0;
      case 'schema':
        parseArgs({ args: rest, options: {}, strict: true });
        console.log(JSON.stringify(configJsonSchema(), null, 2));
        return 0;
      case 'version':
      case '--version':
      case '-V':
        console.log(`catapult-lab ${packageVersion()} (code ${codeVersion()})`);
        return 0;
      default:
        throw new UsageError(command ? `unknown command "${command}"` : 'no command given');
    }
  } catch (e) {
    const code = (e as { code?: unknown } | null)?.code;
    if (e instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
      // One line for the problem, then the command's own usage (all of it: catapult help).
      const usage = Object.hasOwn(COMMANDS, command) ? `usage: ${indent(COMMANDS[command].usage, '       ').trimStart()}` : `commands: ${Object.keys(COMMANDS).join(', ')}`;
      process.stderr.write(`catapult: ${(e as Error).message.split('\n')[0]}\n${usage}\n(catapult help: every command and the exit codes)\n`);
      return 2;
    }
    if (e instanceof NoAdapterError) {
      process.stderr.write(`catapult: ${e.message}\n`);
      return 3;
    }
    // Anything else is ours, not the user's: said so, with the stack only when asked for.
    const error = e as Error;
    process.stderr.write(`catapult: internal error: ${error?.message ?? String(e)}\n`);
    process.stderr.write(debug ? `${error?.stack ?? ''}\n` : 'This is a fault of catapult-lab, not of the input; rerun with --debug (or CATAPULT_DEBUG=1) for the stack trace, and please report it.\n');
    return 1;
  }
}
