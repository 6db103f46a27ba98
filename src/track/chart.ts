// What a chart is, as data: its title, its axis with units, and its series as functions of a run's records.
// The run charts are defined in src/charts/figure.ts and, for a quantity of their own, in the probe that
// measures it; the lab (uPlot) and the report (SVG, PNG) draw the same definitions.
import type { BaseStepRecord, EvalRecord } from './record.ts';

/** What a probe's chart may read of a run: its records, and n of its tracked set. */
export interface ChartRunView<R> {
  records: R[];
  /** n of the tracked set, for η·λ/n and the critical line n/η. */
  trackedExamples?: number;
}

export interface SeriesDef<R = BaseStepRecord, Run = ChartRunView<R>> {
  label: string;
  step?: (r: R, run: Run) => number | undefined;
  evaluation?: (e: EvalRecord) => number | undefined;
  dash?: number[];
  /** Drawn as points, never joined. */
  points?: boolean;
  /** The residual field of a tracked eigenvalue: values above the run's tolerance are drawn apart, as hollow points. */
  residual?: (r: R) => number | undefined;
  /** A noisy quantity that the smoothing control smooths (its raw values stay, faint). */
  smooth?: boolean;
  /** Drawn for every run when runs are compared (else only the first run's series are drawn). */
  compare?: boolean;
  /** A colour from a ramp over the chart's `ramp` series (the spectrum's λ_1 … λ_k), not from the palette. */
  ramp?: boolean;
  /** A critical line (n/η, 1): the same orange on every chart, a colour no other series of one run takes. */
  critical?: boolean;
}

export interface ChartDef<R = BaseStepRecord, Run = ChartRunView<R>> {
  id: string;
  title: string;
  /** The y axis's label with its unit. */
  yLabel: string;
  log: boolean;
  /** 'steps': x is each record's training step; 'evals': the step of each evaluation. */
  source: 'steps' | 'evals';
  series: (run: Run) => SeriesDef<R, Run>[];
}
