// The runs of the folder `catapult lab DIR` serves (src/cli/lab-server.ts): the list, and each run's
// metrics.jsonl read on from the byte it was read up to, so a running run grows as its file does. Each
// line is checked as any metrics file's (a malformed one is an error naming the run and the line).
import { parseMetricsJsonl } from '../run/export.ts';
import type { FolderRun } from '../run/run-folder.ts';
import { validateTrainConfig, type EvalRecord, type StepRecord, type TrainConfig } from '../run/train.ts';

export type { FolderRun };

/** The folder's runs, or null when the page is not served by `catapult lab` (a dev server, a static copy). */
export async function listFolderRuns(): Promise<{ dir: string; runs: FolderRun[] } | null> {
  let response: Response;
  try {
    response = await fetch('api/runs', { cache: 'no-store' });
  } catch {
    return null;
  }
  if (!response.ok || !(response.headers.get('content-type') ?? '').startsWith('application/json')) return null;
  return (await response.json()) as { dir: string; runs: FolderRun[] };
}

/** The config of a listed run, checked as every config is; the error names the run. */
export function folderConfig(run: FolderRun): TrainConfig {
  try {
    validateTrainConfig(run.config as unknown as TrainConfig);
  } catch (e) {
    throw new RangeError(`${run.id || '.'}: its config is not valid: ${(e as Error).message}`);
  }
  return run.config as unknown as TrainConfig;
}

/** One run's metrics.jsonl, followed. */
export class MetricsTail {
  private offset = 0;

  constructor(readonly id: string) {}

  /** The records written since the last read; reset where the file was rewritten (read again from its start). */
  async read(): Promise<{ records: StepRecord[]; evals: EvalRecord[]; reset: boolean }> {
    const response = await fetch(`api/metrics?run=${encodeURIComponent(this.id)}&from=${this.offset}`, { cache: 'no-store' });
    if (!response.ok) throw new RangeError(`${this.id || '.'}/metrics.jsonl: ${((await response.json()) as { error?: string }).error ?? response.statusText}`);
    const text = await response.text();
    const reset = response.headers.get('x-reset') === 'true';
    this.offset = Number(response.headers.get('x-next-offset'));
    const { records, evals } = parseMetricsJsonl(text, `${this.id || '.'}/metrics.jsonl`);
    return { records, evals, reset };
  }
}
