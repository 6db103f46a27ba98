// A lab run as files (JSON with everything, CSV of the steps) and back, and the reading of a run the command
// line wrote (its summary.json with its metrics.jsonl).
import { findPreset, SCALES, type Scale } from '../run/presets.ts';
import { parseMetricsJsonl, recordsCsv } from '../run/export.ts';
import { summarize } from '../run/summary.ts';
import type { RunStatus, TrainConfig } from '../run/train.ts';
import type { LabRunData } from './lab-run.ts';

export const RUN_FORMAT = 'catapult-lab run';

export function runJson(run: LabRunData): string {
  const { label, state, config, adapter, status, message, trainSize, trackedExamples, summary, records, evals } = run;
  return JSON.stringify({ format: RUN_FORMAT, label, preset: state.preset, scale: state.scale, variant: state.variant ?? null, seed: state.seed, set: state.set, config, adapter, status, message, trainSize, trackedExamples, summary, records, evals });
}

export function runCsv(run: LabRunData): string {
  return recordsCsv(run.records);
}

/** A file name for a run's export: preset, seed and a short id. */
export function exportName(run: LabRunData, id: number, ext: string): string {
  return `${run.state.preset}-seed${run.state.seed}-run${id}.${ext}`;
}

type Loaded = Omit<LabRunData, 'status'> & { status: LabRunData['status'] };

function trainSizeOf(config: TrainConfig): number | undefined {
  const n = (config.data as { train?: unknown }).train;
  return typeof n === 'number' ? n : undefined;
}

/**
 * Runs from files the user picked: lab exports (one .json each), or a command-line run folder's summary.json
 * with its metrics.jsonl. Anything else is an error naming the file and what was expected.
 */
export function readRunFiles(files: { name: string; text: string }[]): Loaded[] {
  const runs: Loaded[] = [];
  const summaries: { name: string; json: Record<string, unknown> }[] = [];
  const metrics: { name: string; text: string }[] = [];
  for (const f of files) {
    if (f.name.endsWith('.jsonl')) {
      metrics.push(f);
      continue;
    }
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(f.text);
    } catch {
      throw new RangeError(`${f.name} is not JSON: load a lab export (.json), or a command-line run's summary.json with its metrics.jsonl`);
    }
    if (json.format === RUN_FORMAT) runs.push(fromExport(json, f.name));
    else if (typeof json.preset === 'string' && typeof json.config === 'object') summaries.push({ name: f.name, json });
    else throw new RangeError(`${f.name} is neither a lab export (format "${RUN_FORMAT}") nor a command-line summary.json`);
  }
  if (summaries.length !== metrics.length) {
    throw new RangeError(`a command-line run is loaded from its summary.json and metrics.jsonl together; got ${summaries.length} summary file(s) and ${metrics.length} metrics file(s)`);
  }
  summaries.forEach((s, i) => runs.push(fromCli(s.json, metrics[i])));
  return runs;
}

function fromExport(j: Record<string, unknown>, name: string): Loaded {
  if (!Array.isArray(j.records) || !Array.isArray(j.evals) || typeof j.config !== 'object') throw new RangeError(`${name}: a lab export needs records, evals and config`);
  const scale = SCALES.includes(j.scale as Scale) ? (j.scale as Scale) : 'quick';
  return {
    label: `${String(j.label ?? j.preset)} (loaded)`,
    state: { preset: String(j.preset), scale, seed: Number(j.seed), set: (j.set as [string, string][]) ?? [], ...(j.variant ? { variant: String(j.variant) } : {}) },
    config: j.config as TrainConfig,
    adapter: String(j.adapter ?? 'unknown'),
    status: (j.status as LabRunData['status']) ?? 'loaded',
    message: j.message as string | undefined,
    trainSize: j.trainSize as number | undefined,
    trackedExamples: j.trackedExamples as number | undefined,
    summary: j.summary as LabRunData['summary'],
    records: j.records as LabRunData['records'],
    evals: j.evals as LabRunData['evals'],
  };
}

function fromCli(s: Record<string, unknown>, metricsFile: { name: string; text: string }): Loaded {
  const { records, evals } = parseMetricsJsonl(metricsFile.text, metricsFile.name);
  const config = s.config as TrainConfig;
  const scale = SCALES.includes(s.scale as Scale) ? (s.scale as Scale) : 'quick';
  const trainSize = trainSizeOf(config);
  const status = String(s.status ?? 'loaded') as RunStatus;
  let wanted;
  try {
    wanted = findPreset(String(s.preset)).headline;
  } catch {
    wanted = undefined;
  }
  return {
    label: `${String(s.preset)} seed ${String(s.seed)} (command line)`,
    state: { preset: String(s.preset), scale, seed: Number(s.seed ?? config.seed), set: [], ...(s.variant ? { variant: String(s.variant) } : {}) },
    config,
    adapter: String(s.adapter ?? 'unknown'),
    status,
    message: s.message as string | undefined,
    trainSize,
    trackedExamples: config.tracking?.set?.examples,
    summary: trainSize !== undefined ? summarize(config, { status, steps: records.length, records, evals }, trainSize, wanted) : undefined,
    records,
    evals,
  };
}
