// How converged each tracked eigenvalue of a run is. Every estimate is recorded beside its relative
// residual ‖Kv − λv‖/λ (K has an eigenvalue within residual·λ of λ); one whose residual is above the run's
// tolerance (tracking.tolerance, 1e-3 by default) is "not converged": summaries count such steps, and the
// charts draw those values apart from the converged ones instead of as numbers like the others.
import { DEFAULT_TOLERANCE, TRACKED_EIGENVALUES, type StepRecord, type TrackedEigenvalue } from '../track/registry.ts';
import type { TrainConfig } from './train-config.ts';


export const toleranceOf = (config: Pick<TrainConfig, 'tracking'>): number => config.tracking?.tolerance ?? DEFAULT_TOLERANCE;

/**
 * Whether record r's `field` converged: true or false where both it and its residual were recorded,
 * undefined where it was not measured or comes from a file written before residuals were (not known).
 */
export function isConverged(r: StepRecord, q: TrackedEigenvalue, tolerance: number): boolean | undefined {
  const residual = residualOf(r, q);
  return residual === undefined ? undefined : residual <= tolerance;
}

/** The residual of q at r (for a list of eigenvalues, the largest), or undefined where either is missing. */
function residualOf(r: StepRecord, q: TrackedEigenvalue): number | undefined {
  const value = r[q.value];
  const residual = r[q.residual];
  if (Array.isArray(value) && Array.isArray(residual) && residual.length > 0) return Math.max(...residual);
  if (typeof value !== 'number' || typeof residual !== 'number') return undefined;
  return residual;
}

export interface ConvergenceLine {
  /** Steps at which the quantity was tracked with a residual. */
  tracked: number;
  /** Of those, the steps whose residual was above the tolerance. */
  unconverged: number;
  /** The largest residual, and the first step it was above the tolerance (null: never). */
  worstResidual: number;
  firstUnconverged: number | null;
}

/** Per tracked eigenvalue that has residuals in the records: how many steps converged. */
export function convergenceSummary(records: StepRecord[], tolerance: number): { tolerance: number; quantities: Record<string, ConvergenceLine> } {
  const quantities: Record<string, ConvergenceLine> = {};
  for (const q of TRACKED_EIGENVALUES) {
    let line: ConvergenceLine | null = null;
    for (const r of records) {
      const ok = isConverged(r, q, tolerance);
      if (ok === undefined) continue;
      line ??= { tracked: 0, unconverged: 0, worstResidual: 0, firstUnconverged: null };
      line.tracked++;
      line.worstResidual = Math.max(line.worstResidual, residualOf(r, q)!);
      if (!ok) {
        line.unconverged++;
        line.firstUnconverged ??= r.step;
      }
    }
    if (line) quantities[q.value] = line;
  }
  return { tolerance, quantities };
}
