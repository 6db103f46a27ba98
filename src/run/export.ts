// Run data as files, host-neutral: the CLI writes them into its output folder, the lab downloads them and
// reads back what the CLI wrote. metrics.csv has one row per step with a column per recorded field;
// metrics.jsonl has one JSON object per line, {"type":"step",…} or {"type":"eval",…}.
import type { EvalRecord, StepRecord } from './train.ts';

/** One row per step; lists (the top eigenvalues) are space-separated inside one quoted cell. */
export function recordsCsv(records: StepRecord[]): string {
  const keys: string[] = [];
  for (const r of records) for (const k of Object.keys(r)) if (!keys.includes(k)) keys.push(k);
  const cell = (v: unknown) => (v === undefined ? '' : Array.isArray(v) ? `"${v.join(' ')}"` : String(v));
  return [keys.join(','), ...records.map((r) => keys.map((k) => cell((r as unknown as Record<string, unknown>)[k])).join(','))].join('\n') + '\n';
}

export function metricsJsonLines(records: StepRecord[], evals: EvalRecord[]): string {
  return [...records.map((r) => JSON.stringify({ type: 'step', ...r })), ...evals.map((e) => JSON.stringify({ type: 'eval', ...e }))].join('\n') + '\n';
}

/** Reads metrics.jsonl back; a line that is not a step or eval record is an error naming the line. */
export function parseMetricsJsonl(text: string, name = 'metrics.jsonl'): { records: StepRecord[]; evals: EvalRecord[] } {
  const records: StepRecord[] = [];
  const evals: EvalRecord[] = [];
  const lines = text.split('\n');
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '') continue;
    let row: { type?: unknown; step?: unknown } & Record<string, unknown>;
    try {
      row = JSON.parse(line);
    } catch {
      throw new RangeError(`${name} line ${i + 1} is not JSON`);
    }
    const { type, ...fields } = row;
    if (typeof fields.step !== 'number') throw new RangeError(`${name} line ${i + 1} has no step number`);
    if (type === 'step') records.push(fields as unknown as StepRecord);
    else if (type === 'eval') evals.push(fields as unknown as EvalRecord);
    else throw new RangeError(`${name} line ${i + 1}: type must be "step" or "eval", got ${JSON.stringify(type)}`);
  }
  return { records, evals };
}
