// The JSON files of a run or sweep folder, as the command line writes them and as `catapult report` and the
// lab read them back: run.json (what a run is, written as it starts, so a running run can be watched),
// summary.json (a run's outcome), sweep.json (a sweep's plan), aggregate.json (its table).
// A folder is input like any other: each file is checked against its schema before any value is used, and
// anything wrong is a RangeError naming the file, the field and what was wrong. Unknown keys are errors.
import { z } from 'zod';
import { parseJsonFile } from '../util/schema-errors.ts';
import { measured } from './json-numbers.ts';

const count = z.int().min(0);
const optionalStep = z.union([count, z.null()]);

const spike = z.strictObject({
  start: count,
  peak: count,
  end: optionalStep,
  startLoss: measured,
  peakLoss: measured,
  height: measured,
  ratio: measured,
  duration: optionalStep,
  lambdaBefore: measured.optional(),
  lambdaAfter: measured.optional(),
  lambdaDrop: measured.optional(),
});

const matchRateLine = z.strictObject({ definition: z.string(), increases: count, matched: count, rate: measured, unavailable: z.string().optional() });

export const summarySchema = z.strictObject({
  preset: z.string(),
  paper: z.string(),
  summaryText: z.string(),
  variant: z.string().nullable(),
  scale: z.string(),
  seed: count,
  adapter: z.string(),
  adapterInfo: z.record(z.string(), z.unknown()),
  codeVersion: z.string(),
  seconds: measured,
  initialCriticalRate: z.strictObject({ unit: z.string(), value: measured, lambda: measured.optional() }).optional(),
  resumedFrom: z.string().optional(),
  status: z.enum(['completed', 'converged', 'diverged', 'lost', 'stopped']),
  message: z.string().optional(),
  steps: count,
  headline: z.record(z.string(), z.union([measured, z.string()])),
  criticalSteps: z.array(count),
  spikes: z.array(spike),
  // Written since 0.3.0; older summaries have none.
  convergence: z
    .strictObject({
      tolerance: measured,
      quantities: z.record(z.string(), z.strictObject({ tracked: count, unconverged: count, worstResidual: measured, firstUnconverged: optionalStep })),
    })
    .optional(),
  // Both match rates with their definitions, or why one could not be computed; older summaries have none.
  matchRates: z
    .strictObject({ matchRate: matchRateLine, ownBatchMatchRate: matchRateLine })
    .optional(),
  matchAnalysis: z
    .strictObject({
      thresholds: z.array(z.strictObject({ threshold: measured, increases: count, matched: count, matchRate: measured })),
      ratioAtIncreases: z.strictObject({ quantiles: z.array(measured), values: z.array(measured) }).nullable(),
      nearCritical: z.strictObject({ notCritical: count, within20Percent: count }),
    })
    .optional(),
  notes: z.array(z.string()),
  // The config is shown as it is; whoever runs it validates it as any config (validateTrainConfig).
  config: z.record(z.string(), z.unknown()),
});
export type SummaryFile = z.infer<typeof summarySchema>;

export const sweepSchema = z.strictObject({
  preset: z.string(),
  scale: z.string(),
  grid: z.record(z.string(), z.array(z.unknown())),
  seeds: z.int().min(1),
  set: z.array(z.tuple([z.string(), z.unknown()])),
  // assignments: the combination's [key, value] pairs (sweeps from before sharding did not record them).
  combos: z.array(z.strictObject({ label: z.string(), folder: z.string(), assignments: z.array(z.tuple([z.string(), z.unknown()])).optional() })),
});
export type SweepFile = z.infer<typeof sweepSchema>;

export const aggregateSchema = z.strictObject({
  header: z.array(z.string()),
  rows: z.array(z.array(z.string())),
  stats: z.record(z.string(), z.record(z.string(), z.strictObject({ mean: measured, sd: measured, n: count }))),
});
export type AggregateFile = z.infer<typeof aggregateSchema>;

export const RUN_START_FORMAT = 'catapult-lab run start';

/** run.json: the run's identity and config, written before its first step (summary.json comes at its end). */
export const runStartSchema = z.strictObject({
  format: z.literal(RUN_START_FORMAT),
  preset: z.string(),
  variant: z.string().nullable(),
  scale: z.string(),
  seed: count,
  adapter: z.string(),
  codeVersion: z.string(),
  started: z.string(),
  config: z.record(z.string(), z.unknown()),
});
export type RunStartFile = z.infer<typeof runStartSchema>;

/** A run folder as `catapult lab` lists it (src/cli/lab-server.ts) and the lab reads the list (src/app/folder-runs.ts). */
export interface FolderRun {
  /** Its path below the served folder, '/'-separated ('' for the folder itself). */
  id: string;
  preset: string;
  variant: string | null;
  scale: string;
  seed: number;
  /** running (its process holds the folder), interrupted (no summary and no process), unreadable, or the summary's status. */
  status: string;
  message?: string;
  adapter: string;
  config: Record<string, unknown>;
  headline?: Record<string, unknown>;
  /** What in the folder could not be read, named (the run is listed with it, and not drawn). */
  problem?: string;
}

export const readRunStart = (text: string, name = 'run.json'): RunStartFile => parseJsonFile(text, runStartSchema, name);
export const readSummary = (text: string, name = 'summary.json'): SummaryFile => parseJsonFile(text, summarySchema, name);
export const readSweep = (text: string, name = 'sweep.json'): SweepFile => parseJsonFile(text, sweepSchema, name);
export const readAggregate = (text: string, name = 'aggregate.json'): AggregateFile => parseJsonFile(text, aggregateSchema, name);
