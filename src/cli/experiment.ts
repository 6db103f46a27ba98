// `catapult run` and `catapult sweep`: a preset's run into an output folder (metrics.jsonl as they are read
// back, metrics.csv, summary.json, checkpoints, NTK matrices, report.html and PNGs), and sweeps over a grid
// of overrides and seeds that resume where they stopped.
import { cpSync, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { adapterLine, describeAdapter, type Gpu } from '../gpu/gpu.ts';
import { encodeNpy } from '../io/safetensors.ts';
import { NtkGram } from '../ntk/gram.ts';
import { decodeCheckpoint } from '../run/checkpoint.ts';
import { findPreset, ownPreset, presetOf, PRESETS, resolvePreset, type Preset, type Scale } from '../run/presets.ts';
import { metricsLine, recordsCsv } from '../run/export.ts';
import { toJson } from '../run/json-numbers.ts';
import { readSummary, readSweep, RUN_START_FORMAT, type RunStartFile } from '../run/run-folder.ts';
import { headlineText, summarize } from '../run/summary.ts';
import { Trainer, validateTrainConfig, type EvalRecord, type StepRecord, type TrainConfig } from '../run/train.ts';
import { readDataFile } from './data-files.ts';
import { fileProblem } from './file-problem.ts';
import { SAFE_NAME, writeReport } from './report.ts';
import { codeVersion } from './version.ts';

export interface RunOptions {
  /** A preset's name, or a preset (a config file's or an ONNX model's, src/cli/run-source.ts). */
  preset: string | Preset;
  variant?: string;
  scale: Scale;
  set: [string, unknown][];
  seed?: number;
  out: string;
  saveAt: number[];
  resume?: string;
  report: boolean;
  /** Progress on stderr (default: when stderr is a terminal). */
  progress?: boolean;
  log?: (line: string) => void;
  /** Stops the run (as Ctrl-C does) when it returns true; a sweep's own interrupt. */
  stopSignal?: () => boolean;
}

/** Parses `key=value` of --set and --grid; a malformed one is a usage error naming it. */
export function parseAssignment(text: string, flag: string): [string, string] {
  const i = text.indexOf('=');
  if (i <= 0 || i === text.length - 1) throw new RangeError(`${flag} "${text}" must look like key=value (e.g. ${flag} schedule.lr=2)`);
  return [text.slice(0, i).trim(), text.slice(i + 1)];
}

/**
 * The progress line on stderr (a terminal only): steps done, elapsed time, steps per second, time left and
 * the last loss and λ_max. It is redrawn every second as well as at each readback, so it moves while a
 * long step or a rare readback keeps the records from coming.
 */
class Progress {
  private readonly t0 = performance.now();
  private last: StepRecord | null = null;
  private readonly timer: ReturnType<typeof setInterval> | null;

  constructor(
    private readonly total: number,
    private readonly enabled: boolean,
  ) {
    this.timer = enabled ? setInterval(() => this.draw(), 1000) : null;
    this.timer?.unref();
  }

  update(r: StepRecord): void {
    this.last = r;
    this.draw();
  }

  private draw(): void {
    if (!this.enabled) return;
    const done = this.last ? this.last.step + 1 : 0;
    const elapsed = (performance.now() - this.t0) / 1000;
    const rate = done / Math.max(elapsed, 1e-9);
    const left = done > 0 ? (this.total - done) / rate : NaN;
    const width = 20;
    const filled = Math.round((done / Math.max(this.total, 1)) * width);
    const r = this.last;
    const lambda = r?.lambda ?? r?.lambdaBatch;
    process.stderr.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] step ${done}/${this.total}  ${elapsed.toFixed(0)} s  ${done ? `${rate.toPrecision(3)} steps/s  ${left.toFixed(0)} s left` : 'until the first readback (the first step compiles the kernels)'}` +
        `${r ? `  loss ${r.loss.toPrecision(4)}` : ''}${lambda !== undefined ? `  λ_max ${lambda.toPrecision(4)}` : ''}   `,
    );
  }

  end(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.enabled) process.stderr.write('\n');
  }
}

/** Runs one preset (or resumes a checkpoint) into options.out; returns the summary written. */
export async function runExperiment(gpu: Gpu, options: RunOptions): Promise<Record<string, unknown>> {
  const log = options.log ?? ((line: string) => console.log(line));
  let preset = options.resume ? resumedPreset(options) : presetOf(options.preset);
  const out = resolve(options.out);
  makeFolder(out);
  const unlock = lockRunFolder(out, log);
  try {
    let config: TrainConfig;
    let trainer: Trainer;
    let scale = options.scale;
    let variant = options.variant;
    if (options.resume) {
      const file = new Uint8Array(readFileSync(options.resume));
      const meta = decodeCheckpoint(file).metadata;
      if (meta.preset !== undefined && meta.preset !== preset.name) throw new RangeError(`--resume ${options.resume}: the checkpoint is of preset "${meta.preset}", not "${preset.name}"`);
      scale = (meta.scale as Scale | undefined) ?? scale;
      variant = meta.variant ?? variant;
      trainer = await Trainer.resume(gpu, file, readDataFile);
      config = trainer.config;
      log(`resumed ${options.resume} at step ${trainer.step}`);
    } else {
      config = resolvePreset(preset, { scale: options.scale, variant: options.variant, set: options.set, seed: options.seed });
      validateTrainConfig(config);
      trainer = await Trainer.create(gpu, config, readDataFile, (phase) => log(`${phase}…`));
    }
    return await runInto(gpu, options, { out, preset, config, trainer, scale, variant, log });
  } finally {
    unlock();
  }
}

/**
 * The preset of a run to resume: the registered one its checkpoint names, or, for a config file's or an ONNX
 * model's run, one made from the checkpoint's own config (the file it came from may have changed since).
 */
function resumedPreset(options: RunOptions): Preset {
  const saved = decodeCheckpoint(new Uint8Array(readFileSync(options.resume!)));
  const name = saved.metadata.preset ?? (typeof options.preset === 'string' ? options.preset : options.preset.name);
  if (PRESETS.some((p) => p.name === name)) return findPreset(name);
  if (saved.metadata.source === undefined) return findPreset(name);
  return ownPreset(name, saved.config, { path: saved.metadata.source, kind: saved.config.model.kind === 'onnx' ? 'onnx' : 'config' });
}

/**
 * Creates the output folder and the folders above it, one level at a time, or says why it cannot: a file in
 * the way, a place that cannot be written. (Node's recursive mkdirSync never returns for some paths, such as
 * one under /proc.)
 */
export function makeFolder(out: string): void {
  const parts = resolve(out).split(sep).filter((p) => p !== '');
  let at: string = sep;
  for (const part of parts) {
    at = join(at, part);
    try {
      mkdirSync(at);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && statSync(at).isDirectory()) continue;
      if (code === 'EEXIST') throw new RangeError(`--out ${out}: ${at} is a file, not a folder`);
      throw new RangeError(`--out ${out}: cannot create ${at} (${fileProblem(e, 'create')})`);
    }
  }
}

/**
 * One process writes a run folder at a time: run.lock holds the owner's pid while it runs. A lock whose
 * process is alive refuses the second run, naming it; a lock left by a process that is gone is taken over,
 * with a line saying so.
 */
export function lockRunFolder(out: string, log: (line: string) => void): () => void {
  const lock = join(out, 'run.lock');
  // Under bin/catapult.js the process a user sees (and kills) is its parent: the lock names that one, so
  // killing it outright frees the folder (this process follows it at once).
  const me = process.env.CATAPULT_WRAPPED === '1' ? process.ppid : process.pid;
  for (;;) {
    try {
      writeFileSync(lock, `${me}\n`, { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new RangeError(`${out}: cannot write its lock file (${(e as Error).message})`);
    }
    const owner = lockOwner(lock);
    if (owner !== null && owner !== me && alive(owner)) {
      throw new RangeError(`${out} is being written by process ${owner} (${lock}): wait for it to finish, or give another --out`);
    }
    log(`taking over ${lock}: ${owner !== null ? `its process ${owner} is gone` : 'it names no process'}`);
    rmSync(lock, { force: true });
  }
  return () => {
    // Only our own lock: never one a later owner took over.
    if (existsSync(lock) && readFileSync(lock, 'utf8').trim() === String(me)) rmSync(lock, { force: true });
  };
}

/** The pid a lock file names, or null where it names none (or cannot be read). */
function lockOwner(lock: string): number | null {
  let owner: number;
  try {
    owner = Number(readFileSync(lock, 'utf8').trim());
  } catch {
    return null;
  }
  return Number.isSafeInteger(owner) && owner > 0 ? owner : null;
}

/** The live process that holds a run folder's lock (it is running there now), or null. */
export function runFolderOwner(out: string): number | null {
  const owner = lockOwner(join(out, 'run.lock'));
  return owner !== null && alive(owner) ? owner : null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface RunContext {
  out: string;
  preset: Preset;
  config: TrainConfig;
  trainer: Trainer;
  scale: Scale;
  variant: string | undefined;
  log: (line: string) => void;
}

/** The run itself, into a folder this process holds. */
async function runInto(gpu: Gpu, options: RunOptions, { out, preset, config, trainer, scale, variant, log }: RunContext): Promise<Record<string, unknown>> {
  const adapter = describeAdapter(gpu.adapter);
  const d = trainer.data.train;
  log(`${preset.name}${variant ? ` (${variant})` : ''}: ${d.name}, ${d.n} examples of ${d.d} → ${d.k}; ${trainer.net.layout.count} parameters; seed ${config.seed}`);
  log(adapterLine(gpu.adapter));
  if (trainer.initialCriticalRate) log(`η_crit at initialization: ${trainer.initialCriticalRate.value.toPrecision(5)} (rates are multiples of it)`);
  // What the run is, before its first step: `catapult lab` shows a running run from it and its metrics.jsonl.
  const start: RunStartFile = { format: RUN_START_FORMAT, preset: preset.name, variant: variant ?? null, scale, seed: config.seed, adapter, codeVersion: codeVersion(), started: new Date().toISOString(), config: config as unknown as Record<string, unknown> };
  writeFileSync(join(out, 'run.json'), `${toJson(start, 2)}\n`);
  const metrics = createWriteStream(join(out, 'metrics.jsonl'));
  const records: StepRecord[] = [];
  const evals: EvalRecord[] = [];
  log(`training ${config.steps - trainer.step} steps (the first compiles the kernels it needs)…`);
  const progress = new Progress(config.steps, options.progress ?? Boolean(process.stderr.isTTY || process.env.CATAPULT_STDERR_TTY === '1'));
  const saveAt = new Set(options.saveAt);
  const saved = new Set<number>();
  const saveCheckpoint = async (updates: number) => {
    const path = join(out, `checkpoint-${updates}.safetensors`);
    // Whole or not at all, and never through a link planted at the name: a temporary file, then a rename.
    writeWhole(path, await trainer.checkpoint({ preset: preset.name, scale, ...(variant ? { variant } : {}), ...(preset.file ? { source: preset.file.path } : {}), code_version: codeVersion() }));
    await saveTrackedNtk(gpu, trainer, join(out, `ntk-${updates}`), log);
    saved.add(updates);
    log(`saved ${path}`);
  };
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  // on, not once: a second Ctrl-C while the run winds down must not kill it before its summary is written.
  process.on('SIGINT', onSigint);
  const started = performance.now();
  let result;
  try {
    result = await trainer.run({
      onMetrics(fresh, freshEvals) {
        for (const r of fresh) metrics.write(metricsLine('step', r));
        for (const e of freshEvals) metrics.write(metricsLine('eval', e));
        records.push(...fresh);
        evals.push(...freshEvals);
        if (fresh.length) progress.update(fresh[fresh.length - 1]);
      },
      shouldStop: () => interrupted || (options.stopSignal?.() ?? false),
      atStep: async (updates) => {
        if (!saveAt.has(updates)) return;
        saveAt.delete(updates);
        await saveCheckpoint(updates);
      },
    });
    // An ONNX model's run keeps its last weights, for catapult export.
    if (config.model.kind === 'onnx' && !saved.has(trainer.step)) await saveCheckpoint(trainer.step);
  } finally {
    process.off('SIGINT', onSigint);
    progress.end();
    await new Promise<void>((done) => metrics.end(done));
  }
  const seconds = (performance.now() - started) / 1000;
  const summary = {
    preset: preset.name,
    paper: preset.paper,
    summaryText: preset.summary,
    variant: variant ?? null,
    scale,
    seed: config.seed,
    adapter,
    adapterInfo: gpu.adapter,
    codeVersion: codeVersion(),
    seconds,
    ...(trainer.initialCriticalRate ? { initialCriticalRate: trainer.initialCriticalRate } : {}),
    ...(options.resume ? { resumedFrom: options.resume } : {}),
    ...summarize(config, result, trainer.data.train.n, preset.headline),
    notes: preset.notes,
    config,
  };
  trainer.destroy();
  writeFileSync(join(out, 'metrics.csv'), recordsCsv(records));
  writeFileSync(join(out, 'evals.csv'), recordsCsv(evals));
  // summary.json marks a finished run for sweeps: written whole or not at all (a kill mid-write must not
  // leave a half file that looks finished).
  writeFileSync(join(out, 'summary.json.partial'), `${toJson(summary, 2)}\n`);
  renameSync(join(out, 'summary.json.partial'), join(out, 'summary.json'));
  log(`status: ${result.status} after ${result.steps} steps in ${seconds.toFixed(1)} s${result.message ? ` (${result.message})` : ''}`);
  log(`headline: ${Object.entries(summary.headline).map(([k, v]) => `${k} ${headlineText(v)}`).join(', ')}`);
  if (options.report) await reportInto(out, log);
  return summary;
}

/** Writes the folder's report; the metrics and summary are already written, so a failure only costs it. */
async function reportInto(out: string, log: (line: string) => void): Promise<void> {
  try {
    const files = await writeReport(out);
    log(`report: ${files[0]} (+ ${files.filter((f) => f.endsWith('.svg')).length} charts as SVG and ${files.filter((f) => f.endsWith('.png')).length} as PNG)`);
  } catch (e) {
    log(`report: not written (${(e as Error).message})`);
  }
}

/**
 * The tracked set's NTK at the current parameters as NAME.npy (float32, nk×nk, output-major) and the
 * example indices it covers as NAME-indices.npy (int32): recomputed here, so it belongs to the saved weights.
 */
async function saveTrackedNtk(gpu: Gpu, trainer: Trainer, base: string, log: (line: string) => void): Promise<void> {
  const set = trainer.config.tracking?.set;
  if (!set) return;
  const n = set.examples;
  const k = trainer.data.train.k;
  if (n * k > 8192) {
    log(`NTK not saved: the tracked set's kernel is ${n * k}×${n * k}; the .npy files stop at 8192×8192`);
    return;
  }
  const d = trainer.data.train.d;
  const X = gpu.matrix('saved NTK inputs', n, d, trainer.data.train.x.subarray(0, n * d));
  const gram = new NtkGram(gpu, trainer.net);
  try {
    writeFileSync(`${base}.npy`, encodeNpy(await gram.formed(X), [n * k, n * k]));
    writeFileSync(`${base}-indices.npy`, encodeNpy(Int32Array.from({ length: n }, (_, i) => i), [n]));
  } finally {
    gram.destroy();
    X.buffer.destroy();
  }
}

export interface SweepOptions {
  preset: string | Preset;
  scale: Scale;
  grid: [string, unknown[]][];
  seeds: number;
  set: [string, unknown][];
  out: string;
  report: boolean;
  log?: (line: string) => void;
  /** Stop after this many runs (tests use it to interrupt a sweep). */
  maxRuns?: number;
  /** Run only part `index` (1-based) of `count` disjoint parts: every count-th run, from the index-th. */
  shard?: { index: number; count: number };
}

/** The plan of a sweep as sweep.json records it; shards and merges must agree on all of it. */
const planJson = (preset: Preset, options: Pick<SweepOptions, 'scale' | 'grid' | 'seeds' | 'set'>, plan: { label: string; folder: string; assignments: [string, unknown][] }[]) =>
  // A config file's sweep records the config itself: the same file name with other contents is another sweep.
  toJson({ preset: preset.name, ...(preset.file ? { source: preset.file.path, config: preset.config('quick') } : {}), scale: options.scale, grid: Object.fromEntries(options.grid), seeds: options.seeds, set: options.set, combos: plan.map(({ label, folder, assignments }) => ({ label, folder, assignments })) }, 2);

/** Writes a file whole or not at all (concurrent shards may write the same file into one shared folder). */
function writeWhole(path: string, text: string | Uint8Array): void {
  const partial = `${path}.${process.pid}.partial`;
  // A leftover (or a link planted) at the temporary name is removed, not written through.
  rmSync(partial, { force: true });
  writeFileSync(partial, text, { flag: 'wx' });
  renameSync(partial, path);
}

const folderName = (assignments: [string, unknown][]) =>
  assignments.map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('-') : String(v)}`.replace(/[^A-Za-z0-9=._-]/g, '_')).join(',') || 'default';

/** Every combination of the grid, `seeds` seeds each; finished runs (summary.json) are kept and skipped. */
export async function runSweep(gpu: Gpu, options: SweepOptions): Promise<{ ran: number; skipped: number; interrupted: boolean }> {
  const log = options.log ?? ((line: string) => console.log(line));
  const preset = presetOf(options.preset);
  let combos: [string, unknown][][] = [[]];
  for (const [key, values] of options.grid) combos = combos.flatMap((c) => values.map((v) => [...c, [key, v] as [string, unknown]]));
  // Validate every combination before running any.
  for (const c of combos) {
    const variant = c.find(([k]) => k === 'variant')?.[1] as string | undefined;
    validateTrainConfig(resolvePreset(preset, { scale: options.scale, variant, set: [...options.set, ...c.filter(([k]) => k !== 'variant')] }));
  }
  const out = resolve(options.out);
  makeFolder(out);
  const plan = combos.map((c) => ({ label: c.map(([k, v]) => `${k}=${v}`).join(', ') || 'default', folder: folderName(c), assignments: c }));
  const planText = `${planJson(preset, options, plan)}\n`;
  const planPath = join(out, 'sweep.json');
  // A folder holds one sweep: a rerun (or another shard) of the same plan goes on in it, another plan does not.
  if (existsSync(planPath) && readFileSync(planPath, 'utf8') !== planText) {
    throw new RangeError(`--out ${options.out} holds another sweep (its sweep.json differs: preset, scale, grid, seeds or --set); give another --out`);
  }
  writeWhole(planPath, planText);
  const shard = options.shard;
  if (shard && !(Number.isInteger(shard.count) && shard.count >= 1 && Number.isInteger(shard.index) && shard.index >= 1 && shard.index <= shard.count)) {
    throw new RangeError(`--shard ${shard.index}/${shard.count}: must be I/N with 1 <= I <= N`);
  }
  let position = -1;
  let ran = 0;
  let skipped = 0;
  // Ctrl-C stops the sweep, not only the run it lands in: that run ends as "stopped" (its metrics kept),
  // no further run starts, and the aggregate is written from the finished runs.
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  process.on('SIGINT', onSigint);
  try {
  sweep: for (const combo of plan) {
    for (let seed = 0; seed < options.seeds; seed++) {
      position++;
      if (shard && position % shard.count !== shard.index - 1) continue;
      const dir = join(out, combo.folder, `seed-${seed}`);
      const summaryPath = join(dir, 'summary.json');
      if (existsSync(summaryPath)) {
        const status = finishedStatus(summaryPath, log);
        if (status !== null && hasRunItsCourse(status)) {
          skipped++;
          continue;
        }
      }
      if (interrupted) break sweep;
      if (options.maxRuns !== undefined && ran >= options.maxRuns) return { ran, skipped, interrupted: false };
      log(`— ${combo.label}, seed ${seed}`);
      const variant = combo.assignments.find(([k]) => k === 'variant')?.[1] as string | undefined;
      const summary = await runExperiment(gpu, {
        preset,
        variant,
        scale: options.scale,
        set: [...options.set, ...combo.assignments.filter(([k]) => k !== 'variant')],
        seed,
        out: dir,
        saveAt: [],
        report: false,
        progress: false,
        log,
        stopSignal: () => interrupted,
      });
      ran++;
      if (summary.status === 'stopped') interrupted = true;
    }
  }
  } finally {
    process.off('SIGINT', onSigint);
  }
  const missing = writeAggregate(out, plan, options.seeds);
  if (interrupted) log(`sweep interrupted: the aggregate holds the finished runs; rerun the same command to go on`);
  if (shard) log(`shard ${shard.index}/${shard.count} done; the folder holds ${plan.length * options.seeds - missing.length} of ${plan.length * options.seeds} runs${missing.length ? ` (missing: ${missing.join('; ')})` : ''}`);
  if (options.report) await reportInto(out, log);
  return { ran, skipped, interrupted };
}

/**
 * Merges the folders of a sweep's shards into `out` (which may be one of them): each run is copied from the
 * first folder that finished it; runs finished in several folders are reported as duplicated, runs in none
 * as missing. Every folder must hold the same plan (sweep.json). Writes the aggregate and the report.
 */
export async function mergeSweeps(dirs: string[], out: string, options: { report: boolean; log?: (line: string) => void }): Promise<{ missing: string[]; duplicated: string[] }> {
  const log = options.log ?? ((line: string) => console.log(line));
  if (dirs.length === 0) throw new RangeError('--merge needs the sweep folders to merge: catapult sweep --merge DIR... [--out DIR]');
  const plans = dirs.map((d) => {
    const path = join(d, 'sweep.json');
    if (!existsSync(path)) throw new RangeError(`--merge ${d}: no sweep.json there (not a sweep folder)`);
    return { dir: d, text: readFileSync(path, 'utf8'), sweep: readSweep(readFileSync(path, 'utf8'), path) };
  });
  for (const p of plans.slice(1)) if (p.text !== plans[0].text) throw new RangeError(`--merge: ${p.dir}/sweep.json is another sweep than ${plans[0].dir}/sweep.json (preset, scale, grid, seeds or --set differ)`);
  const { sweep } = plans[0];
  for (const c of sweep.combos) if (!SAFE_NAME.test(c.folder)) throw new RangeError(`${plans[0].dir}/sweep.json: combination folder ${JSON.stringify(c.folder)} is not a plain folder name`);
  makeFolder(out);
  const target = resolve(out);
  writeWhole(join(out, 'sweep.json'), plans[0].text);
  const duplicated: string[] = [];
  for (const combo of sweep.combos) {
    for (let seed = 0; seed < sweep.seeds; seed++) {
      const rel = join(combo.folder, `seed-${seed}`);
      const finished = dirs.filter((d) => {
        const path = join(d, rel, 'summary.json');
        if (!existsSync(path)) return false;
        return hasRunItsCourse(readSummary(readFileSync(path, 'utf8'), path).status);
      });
      if (finished.length > 1) duplicated.push(`${combo.label}, seed ${seed} (in ${finished.join(', ')}; kept the first)`);
      if (finished.length > 0 && resolve(finished[0]) !== target) cpSync(join(finished[0], rel), join(out, rel), { recursive: true });
    }
  }
  const missing = writeAggregate(out, sweep.combos.map((c) => ({ ...c, assignments: c.assignments ?? [] })), sweep.seeds);
  log(`merged ${dirs.length} folder(s) into ${out}: ${sweep.combos.length * sweep.seeds - missing.length} of ${sweep.combos.length * sweep.seeds} runs`);
  if (missing.length) log(`missing (no finished run in any folder): ${missing.join('; ')}`);
  if (duplicated.length) log(`duplicated (finished in more than one folder): ${duplicated.join('; ')}`);
  if (options.report) await reportInto(out, log);
  return { missing, duplicated };
}

/** A stopped (interrupted) or lost run has not run its course: a sweep reruns it and does not average it in. */
const hasRunItsCourse = (status: string) => status !== 'stopped' && status !== 'lost';

/** The status in a run's summary.json, or null if the file cannot be read as one (then the run is redone, and said so). */
function finishedStatus(path: string, log: (line: string) => void): string | null {
  try {
    return readSummary(readFileSync(path, 'utf8'), path).status;
  } catch (e) {
    log(`${(e as Error).message}: that run is run again`);
    return null;
  }
}

/** An RFC 4180 cell: quoted when it holds a comma, a quote or a line break. */
const csvCell = (v: unknown): string => {
  const t = typeof v === 'string' ? v : v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
};

/**
 * aggregate.csv, tidy: one row per combination, a column per swept key (its value), the finished and
 * interrupted run counts, and for each headline quantity its mean, sd and the number of seeds averaged.
 */
function aggregateCsv(plan: { label: string; assignments: [string, unknown][] }[], finished: number[], interrupted: number[], keys: string[], stats: Record<string, Record<string, { mean: number; sd: number; n: number }>>): string {
  const swept: string[] = [];
  for (const c of plan) for (const [k] of c.assignments) if (!swept.includes(k)) swept.push(k);
  const header = [...swept, 'runs', 'interrupted', ...keys.flatMap((k) => [`${k}_mean`, `${k}_sd`, `${k}_n`])];
  const rows = plan.map((c, i) => {
    const value = new Map(c.assignments);
    const numbers = keys.flatMap((k) => {
      const s = stats[c.label][k];
      return s.n ? [s.mean, s.sd, s.n] : ['', '', 0];
    });
    return [...swept.map((k) => value.get(k)), finished[i], interrupted[i], ...numbers].map(csvCell).join(',');
  });
  return [header.map(csvCell).join(','), ...rows].join('\n') + '\n';
}

/** aggregate.json / .csv / .md: each headline number as mean ± sd over the seeds of each combination. */
function writeAggregate(out: string, plan: { label: string; folder: string; assignments: [string, unknown][] }[], seeds: number): string[] {
  const keys: string[] = [];
  const rows: string[][] = [];
  const stats: Record<string, Record<string, { mean: number; sd: number; n: number }>> = {};
  // Each seed's summary, or null where the run has none yet; read once, for the table and the missing list.
  const bySeed = plan.map((c) =>
    Array.from({ length: seeds }, (_, s) => {
      const p = join(out, c.folder, `seed-${s}`, 'summary.json');
      return existsSync(p) ? readSummary(readFileSync(p, 'utf8'), p) : null;
    }),
  );
  const all = bySeed.map((list) => list.filter((s) => s !== null));
  const summaries = all.map((list) => list.filter((s) => hasRunItsCourse(s.status)));
  for (const list of summaries) for (const s of list) for (const [k, v] of Object.entries(s.headline)) if (typeof v === 'number' && !keys.includes(k)) keys.push(k);
  plan.forEach((c, i) => {
    stats[c.label] = {};
    const cells = [c.label, String(summaries[i].length), String(all[i].length - summaries[i].length)];
    for (const k of keys) {
      const xs = summaries[i].map((s) => s.headline[k]).filter((v: unknown): v is number => typeof v === 'number' && Number.isFinite(v));
      const mean = xs.reduce((a: number, b: number) => a + b, 0) / xs.length;
      const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a: number, b: number) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
      stats[c.label][k] = { mean, sd, n: xs.length };
      cells.push(xs.length ? `${mean.toPrecision(4)} ± ${sd.toPrecision(2)}` : '—');
    }
    rows.push(cells);
  });
  const header = ['combination', 'runs', 'interrupted', ...keys];
  writeWhole(join(out, 'aggregate.json'), `${toJson({ header, rows, stats }, 2)}\n`);
  writeWhole(join(out, 'aggregate.csv'), aggregateCsv(plan, summaries.map((l) => l.length), all.map((l, i) => l.length - summaries[i].length), keys, stats));
  writeWhole(join(out, 'aggregate.md'), [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n') + '\n');
  // The runs not finished (absent, stopped or lost), by combination and seed.
  return plan.flatMap((c, i) => bySeed[i].flatMap((s, seed) => (s && hasRunItsCourse(s.status) ? [] : [`${c.label}, seed ${seed}`])));
}


