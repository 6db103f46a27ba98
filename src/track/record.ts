// What a run records: one step record per training step (the runner's loss and rate, and each enabled
// probe's fields, src/track/registry.ts) and one evaluation record per evaluation.

/** The fields every step record has, whatever is tracked. */
export interface BaseStepRecord {
  step: number;
  lr: number;
  /** Mean loss of the step's batch, before the update. */
  loss: number;
  /** Share of the batch classified correctly (cross-entropy only). */
  accuracy?: number;
}

export interface EvalRecord {
  /** Parameters after this many updates. */
  step: number;
  trainLoss: number;
  trainAccuracy?: number;
  valLoss?: number;
  valAccuracy?: number;
  testLoss?: number;
  testAccuracy?: number;
}

/** A field a probe adds to step records: its line of help, and whether it is a list (the top eigenvalues). */
export interface FieldDoc {
  label: string;
  list?: true;
}

export type Fields = Record<string, FieldDoc>;

/** The record fields of a probe's field list: a number each, or a list of numbers; each only where measured. */
export type RecordOf<F extends Fields> = { [K in keyof F]?: F[K] extends { list: true } ? number[] : number };
