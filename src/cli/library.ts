// catapult-lab as a library for Node programs and notebooks (the package's entry, 'catapult-lab'): the
// presets, a preset's run into a folder (the same files and records as `catapult run`), and training from a
// config. Each call asks for its own WebGPU device (--adapter's choices; default: the CATAPULT_ADAPTER
// variable, else auto) and releases it. Node-only, so it lives with the Node host in src/cli.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readDataFile } from './data-files.ts';
import { runExperiment } from './experiment.ts';
import { requestNodeGpu, type AdapterChoice } from './node-gpu.ts';
import { parseMetricsJsonl } from '../run/export.ts';
import { PRESETS, resolvePreset, type Scale } from '../run/presets.ts';
import { readSummary, type SummaryFile } from '../run/run-folder.ts';
import { Trainer, validateTrainConfig, type EvalRecord, type RunResult, type StepRecord, type TrainConfig } from '../run/train.ts';

export { PRESETS as presets, resolvePreset, validateTrainConfig };
export type { EvalRecord, RunResult, Scale, StepRecord, SummaryFile, TrainConfig };

export interface RunPresetOptions {
  scale?: Scale;
  variant?: string;
  /** Overrides by dotted key, as `--set key=value` takes them: { 'schedule.lr': 2, steps: 50 }. */
  set?: Record<string, unknown>;
  seed?: number;
  /** The run folder (default: a new temporary folder). */
  out?: string;
  /** Also write report.html and its PNGs (needs Chromium; default false). */
  report?: boolean;
  adapter?: AdapterChoice;
  /** Where the run's log lines go (default: nowhere). */
  log?: (line: string) => void;
}

/** Runs a preset as `catapult run` does; returns its folder, summary.json and the records of metrics.jsonl. */
export async function runPreset(name: string, options: RunPresetOptions = {}): Promise<{ out: string; summary: SummaryFile; records: StepRecord[]; evals: EvalRecord[] }> {
  const set = Object.entries(options.set ?? {});
  const scale = options.scale ?? 'quick';
  validateTrainConfig(resolvePreset(name, { scale, variant: options.variant, set, seed: options.seed }));
  const out = options.out ?? mkdtempSync(join(tmpdir(), `catapult-${name}-`));
  const gpu = await requestNodeGpu({ adapter: options.adapter });
  try {
    await runExperiment(gpu, { preset: name, variant: options.variant, scale, set, seed: options.seed, out, saveAt: [], report: options.report ?? false, progress: false, log: options.log ?? (() => {}) });
  } finally {
    gpu.destroy();
  }
  const summary = readSummary(readFileSync(join(out, 'summary.json'), 'utf8'), join(out, 'summary.json'));
  return { out, summary, ...parseMetricsJsonl(readFileSync(join(out, 'metrics.jsonl'), 'utf8'), join(out, 'metrics.jsonl')) };
}

/** Trains a network from a config (README: "Training configs"); returns how it ended and every record. */
export async function train(config: TrainConfig, options: { adapter?: AdapterChoice } = {}): Promise<RunResult> {
  validateTrainConfig(config);
  const gpu = await requestNodeGpu({ adapter: options.adapter });
  try {
    const trainer = await Trainer.create(gpu, config, readDataFile);
    try {
      return await trainer.run();
    } finally {
      trainer.destroy();
    }
  } finally {
    gpu.destroy();
  }
}
