// A lab run as files (JSON with everything, CSV of the steps) and back, and the reading of a run the command
// line wrote (its summary.json with its metrics.jsonl).
import { z } from 'zod';
import { findPreset, SCALES, type Scale } from '../run/presets.ts';
import { evalRecordSchema, parseMetricsJsonl, recordsCsv, stepRecordSchema } from '../run/export.ts';
import { toJson } from '../run/json-numbers.ts';
import { parseJsonFile } from '../util/schema-errors.ts';
import { readSummary } from '../run/run-folder.ts';
import { summarize, type RunSummary } from '../run/summary.ts';
import { validateTrainConfig, type EvalRecord, type RunStatus, type StepRecord, type TrainConfig } from '../run/train.ts';
import type { LabRunData } from './lab-run.ts';

export const RUN_FORMAT = 'catapult-lab run';

export function runJson(run: LabRunData): string {
  const { label, state, config, adapter, status, message, trainSize, trackedExamples, records, evals } = run;
  return toJson({ format: RUN_FORMAT, label, preset: state.preset, scale: state.scale, variant: state.variant ?? null, seed: state.seed, set: state.set, config, adapter, status, message, trainSize, trackedExamples, records, evals });
}

export function runCsv(run: LabRunData): string {
  return recordsCsv(run.records);
}

/** A file name for a run's export: preset, seed and a short id. */
export function exportName(run: LabRunData, id: number, ext: string): string {
  return `${run.state.preset}-seed${run.state.seed}-run${id}.${ext}`;
}

type Loaded = Omit<LabRunData, 'status'> & { status: LabRunData['status'] };

// A lab export as runJson writes it. Its summary (written by earlier versions) is not trusted: the catapult
// events are recomputed from the records, as for a command-line run.
const labExportSchema = z.strictObject({
  format: z.literal(RUN_FORMAT),
  label: z.string(),
  preset: z.string(),
  scale: z.enum(SCALES),
  variant: z.string().nullable(),
  seed: z.int().min(0),
  set: z.array(z.tuple([z.string(), z.string()])),
  config: z.record(z.string(), z.unknown()),
  adapter: z.string(),
  status: z.enum(['starting', 'running', 'paused', 'completed', 'converged', 'diverged', 'lost', 'stopped', 'failed', 'loaded']),
  message: z.string().optional(),
  trainSize: z.int().min(1).optional(),
  trackedExamples: z.int().min(1).optional(),
  summary: z.unknown().optional(),
  records: z.array(stepRecordSchema),
  evals: z.array(evalRecordSchema),
});

export function trainSizeOf(config: TrainConfig): number | undefined {
  const n = (config.data as { train?: unknown }).train;
  return typeof n === 'number' ? n : undefined;
}

/** A config from a file, validated as any config; the error names the file. */
function checkedConfig(config: unknown, name: string): TrainConfig {
  try {
    validateTrainConfig(config as TrainConfig);
  } catch (e) {
    throw new RangeError(`${name}: its config is not valid: ${(e as Error).message}`);
  }
  return config as TrainConfig;
}

/** The catapult summary of loaded records, where the training-set size is known. */
export function summaryOf(config: TrainConfig, preset: string, status: RunStatus, records: StepRecord[], evals: EvalRecord[], trainSize: number | undefined): RunSummary | undefined {
  let wanted;
  try {
    wanted = findPreset(preset).headline;
  } catch {
    wanted = undefined;
  }
  return trainSize !== undefined ? summarize(config, { status, steps: records.length, records, evals }, trainSize, wanted) : undefined;
}

/**
 * Runs from files the user picked: lab exports (one .json each), or a command-line run folder's summary.json
 * with its metrics.jsonl. Anything else is an error naming the file, the field and what was expected.
 */
export function readRunFiles(files: { name: string; text: string }[]): Loaded[] {
  const runs: Loaded[] = [];
  const summaries: { name: string; text: string }[] = [];
  const metrics: { name: string; text: string }[] = [];
  for (const f of files) {
    if (f.name.endsWith('.jsonl')) {
      metrics.push(f);
      continue;
    }
    let json: unknown;
    try {
      json = JSON.parse(f.text);
    } catch {
      throw new RangeError(`${f.name} is not JSON: load a lab export (.json), or a command-line run's summary.json with its metrics.jsonl`);
    }
    const format = json !== null && typeof json === 'object' ? (json as { format?: unknown }).format : undefined;
    if (format === RUN_FORMAT) runs.push(fromExport(f));
    else if (format === undefined && json !== null && typeof json === 'object' && 'preset' in json && 'config' in json) summaries.push(f);
    else throw new RangeError(`${f.name} is neither a lab export (format "${RUN_FORMAT}") nor a command-line summary.json`);
  }
  if (summaries.length !== metrics.length) {
    throw new RangeError(`a command-line run is loaded from its summary.json and metrics.jsonl together; got ${summaries.length} summary file(s) and ${metrics.length} metrics file(s)`);
  }
  summaries.forEach((s, i) => runs.push(fromCli(s, metrics[i])));
  return runs;
}

/** A lab export; `suffix` is added to its label (a file loaded is named so; a run the lab kept itself is not). */
export function fromExport(file: { name: string; text: string }, suffix = ' (loaded)'): Loaded {
  const j = parseJsonFile(file.text, labExportSchema, file.name);
  const config = checkedConfig(j.config, file.name);
  const trainSize = j.trainSize ?? trainSizeOf(config);
  const status = j.status === 'completed' || j.status === 'converged' || j.status === 'diverged' || j.status === 'lost' || j.status === 'stopped' ? j.status : 'stopped';
  return {
    label: `${j.label}${suffix}`,
    state: { preset: j.preset, scale: j.scale, seed: j.seed, set: j.set, ...(j.variant ? { variant: j.variant } : {}) },
    config,
    adapter: j.adapter,
    status: j.status,
    message: j.message,
    trainSize,
    trackedExamples: j.trackedExamples,
    summary: summaryOf(config, j.preset, status, j.records, j.evals, trainSize),
    records: j.records,
    evals: j.evals,
  };
}

function fromCli(summaryFile: { name: string; text: string }, metricsFile: { name: string; text: string }): Loaded {
  const s = readSummary(summaryFile.text, summaryFile.name);
  const { records, evals } = parseMetricsJsonl(metricsFile.text, metricsFile.name);
  const config = checkedConfig(s.config, summaryFile.name);
  const scale = SCALES.includes(s.scale as Scale) ? (s.scale as Scale) : 'quick';
  const trainSize = trainSizeOf(config);
  return {
    label: `${s.preset} seed ${s.seed} (command line)`,
    state: { preset: s.preset, scale, seed: s.seed, set: [], ...(s.variant ? { variant: s.variant } : {}) },
    config,
    adapter: s.adapter,
    status: s.status,
    message: s.message,
    trainSize,
    trackedExamples: config.tracking?.set?.examples,
    summary: summaryOf(config, s.preset, s.status, records, evals, trainSize),
    records,
    evals,
  };
}
