// Every tracked quantity, one probe each (src/track/probes/). The order here is the order probes record in a
// step and the order of their fields in a step record (so in metrics.jsonl and the CSV); the tracking part
// of the config schema, the step record's type, the convergence table and the probes' charts follow from it.
// Adding a quantity: a file in probes/ and one line below.
import { z } from 'zod';
import { finite } from '../util/schema-fields.ts';
import type { ProbeSpec } from './probe.ts';
import { agopProbe } from './probes/agop.ts';
import { adagradProbe } from './probes/adagrad.ts';
import { batchProbe } from './probes/batch.ts';
import { hessianProbe } from './probes/hessian.ts';
import { matchProbe } from './probes/match.ts';
import { preconditionedProbe } from './probes/preconditioned.ts';
import { setProbe } from './probes/set.ts';
import { spectrumProbe } from './probes/spectrum.ts';
import { traceProbe } from './probes/trace.ts';
import type { BaseStepRecord, Fields, RecordOf } from './record.ts';

export const PROBES = [
  batchProbe,
  preconditionedProbe,
  hessianProbe,
  setProbe,
  agopProbe,
  adagradProbe,
  spectrumProbe,
  traceProbe,
  matchProbe,
] as const;

type AnyProbe = (typeof PROBES)[number];
type ProbeShape = { [P in AnyProbe as P['key']]: z.ZodOptional<P['schema']> };
type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
type FieldsOf<P> = P extends ProbeSpec<string, z.ZodType, infer F extends Fields> ? RecordOf<F> : never;

export const DEFAULT_TOLERANCE = 1e-3;

export const trackingSchema = z
  .strictObject(
    {
      ...(Object.fromEntries(PROBES.map((p) => [p.key, p.schema.optional()])) as ProbeShape),
      tolerance: finite(`relative residual ‖Kv − λv‖/λ above which a tracked eigenvalue is marked not converged (default ${DEFAULT_TOLERANCE})`, { above: 0, below: 1 }).optional(),
    },
    { error: () => 'must be an object' },
  )
  .describe('spectral tracking during training');

/** tracking: each probe's part, by its key, and the convergence tolerance. */
export type TrackingConfig = z.infer<typeof trackingSchema>;

/** One training step's record: the runner's fields and every probe's. */
export type StepRecord = BaseStepRecord & UnionToIntersection<FieldsOf<AnyProbe>>;

/** A tracked eigenvalue: the record field that holds it, the one that holds its residual, and its name. */
export interface TrackedEigenvalue {
  value: keyof StepRecord;
  residual: keyof StepRecord;
  label: string;
}

export const TRACKED_EIGENVALUES: readonly TrackedEigenvalue[] = PROBES.flatMap((p): readonly TrackedEigenvalue[] => ('eigenvalues' in p ? p.eigenvalues! : []));

/** The charts of the probes, in the registry's order. */
export const PROBE_CHARTS = PROBES.flatMap((p) => p.charts ?? []);

/** The enabled probes of a tracking config with their parts of it, in the registry's order. */
export function enabledProbes(tracking: TrackingConfig): { spec: ProbeSpec; config: unknown }[] {
  const parts = tracking as Record<string, unknown>;
  return PROBES.filter((p) => parts[p.key] !== undefined).map((p) => ({ spec: p as unknown as ProbeSpec, config: parts[p.key] }));
}

/** What the schema cannot say of tracking: each enabled probe's rules (trainSize where known). */
export function validateTracking(tracking: TrackingConfig | undefined, trainSize?: number): void {
  if (!tracking) return;
  for (const { spec, config } of enabledProbes(tracking)) spec.check?.(config, tracking, trainSize);
}
