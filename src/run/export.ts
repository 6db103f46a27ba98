// Run data as files, host-neutral: the CLI writes them into its output folder, the lab downloads them and
// reads back what the CLI wrote. metrics.csv has one row per step and evals.csv one per evaluation, a column
// per quantity;
// metrics.jsonl has one JSON object per line, {"type":"step",…} or {"type":"eval",…}, with NaN and ±Infinity
// written as strings (src/run/json-numbers.ts) so that a diverged run's numbers read back as they were.
import { z } from 'zod';
import { describeIssues } from '../util/schema-errors.ts';
import { measured, toJson } from './json-numbers.ts';
import type { EvalRecord, StepRecord } from './train.ts';

/**
 * A tidy CSV of records (steps, or evaluations): one row per record and one column per quantity, a list
 * (the top eigenvalues) spread over columns name_1 … name_s. An empty cell is a quantity not measured at
 * that step; NaN, Infinity and -Infinity are written as such (pandas reads all three as floats).
 */
export function recordsCsv(records: readonly (StepRecord | EvalRecord)[]): string {
  const columns: { key: string; index: number | null }[] = [];
  const width = new Map<string, number>();
  for (const r of records) {
    for (const [k, v] of Object.entries(r)) {
      if (!width.has(k)) columns.push({ key: k, index: null });
      width.set(k, Math.max(width.get(k) ?? 0, Array.isArray(v) ? v.length : 0));
    }
  }
  const expanded = columns.flatMap((c) => ((width.get(c.key) ?? 0) > 0 ? Array.from({ length: width.get(c.key)! }, (_, i) => ({ key: c.key, index: i })) : [c]));
  const header = expanded.map((c) => (c.index === null ? c.key : `${c.key}_${c.index + 1}`));
  const cell = (r: Record<string, unknown>, c: { key: string; index: number | null }) => {
    const v = c.index === null ? r[c.key] : (r[c.key] as unknown[] | undefined)?.[c.index];
    return v === undefined ? '' : String(v);
  };
  return [header.join(','), ...records.map((r) => expanded.map((c) => cell(r as unknown as Record<string, unknown>, c)).join(','))].join('\n') + '\n';
}

/** One line of metrics.jsonl (with its newline). */
export function metricsLine(type: 'step' | 'eval', record: StepRecord | EvalRecord): string {
  return `${toJson({ type, ...record })}\n`;
}

export function metricsJsonLines(records: StepRecord[], evals: EvalRecord[]): string {
  return [...records.map((r) => metricsLine('step', r)), ...evals.map((e) => metricsLine('eval', e))].join('');
}

// A record is its step and measured numbers (or lists of them, the top eigenvalues) under any name, so a new
// tracked quantity needs no change here.
const quantity = z.union([measured, z.array(measured)], { error: 'must be a number or a list of numbers' });
const stepFields = { step: z.int().min(0), lr: measured, loss: measured };
const evalFields = { step: z.int().min(0), trainLoss: measured };
export const stepRecordSchema = z.object(stepFields).catchall(quantity) as unknown as z.ZodType<StepRecord>;
export const evalRecordSchema = z.object(evalFields).catchall(quantity) as unknown as z.ZodType<EvalRecord>;
const metricsLineSchema = z.discriminatedUnion(
  'type',
  [z.object({ type: z.literal('step'), ...stepFields }).catchall(quantity), z.object({ type: z.literal('eval'), ...evalFields }).catchall(quantity)],
  { error: 'type must be "step" or "eval"' },
);

export interface ParsedMetrics {
  records: StepRecord[];
  evals: EvalRecord[];
  /** The file ended inside a line (the run was killed while writing it); that line is left out. */
  cutLastLine?: true;
}

/**
 * Reads metrics.jsonl back; a line that is not a step or eval record is an error naming the line and the
 * field. Only a last line without its newline may be cut short: that one is left out and said so.
 */
export function parseMetricsJsonl(text: string, name = 'metrics.jsonl'): ParsedMetrics {
  const records: StepRecord[] = [];
  const evals: EvalRecord[] = [];
  const lines = text.split('\n');
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '') continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      if (i === lines.length - 1) return { records, evals, cutLastLine: true };
      throw new RangeError(`${name} line ${i + 1} is not JSON`);
    }
    const r = metricsLineSchema.safeParse(json);
    if (!r.success) throw new RangeError(`${name} line ${i + 1}: ${describeIssues(r.error)}`);
    const { type, ...fields } = r.data;
    if (type === 'step') records.push(fields as unknown as StepRecord);
    else evals.push(fields as unknown as EvalRecord);
  }
  return { records, evals };
}
