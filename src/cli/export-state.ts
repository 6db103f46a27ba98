// `catapult export`: an ONNX model's run back to PyTorch. The run's checkpoint holds the weights in the
// engine's layout; the model's own file (re-read and re-imported, so the names and scales are the file's)
// says how each becomes a tensor of the module's state dict (src/run/state-dict.ts).
import { readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { checkpointParams, decodeCheckpoint } from '../run/checkpoint.ts';
import { importModelFile } from '../run/model-source.ts';
import { encodeStateDict } from '../run/state-dict.ts';
import { readDataFile, readRegularFile } from './data-files.ts';

/** A checkpoint is at most this large (parameters and optimizer state of models this lab trains). */
const CHECKPOINT_MAX_BYTES = 2 ** 31;

/** The checkpoint to export: the file named, or the run folder's checkpoint of the most steps. */
function checkpointOf(target: string): string {
  let isFolder = false;
  try {
    isFolder = statSync(target).isDirectory();
  } catch {
    // Not there: reading it says so.
  }
  if (!isFolder) return target;
  const steps = readdirSync(target)
    .map((f) => /^checkpoint-(\d+)\.safetensors$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]));
  if (steps.length === 0) throw new RangeError(`${target} holds no checkpoint-S.safetensors: an ONNX model's run writes its last one; for another run, give --save-at`);
  return join(target, `checkpoint-${Math.max(...steps)}.safetensors`);
}

/** Writes the state dict and returns its path. */
export async function exportStateDict(target: string, out: string | undefined): Promise<string> {
  const path = checkpointOf(target);
  const saved = decodeCheckpoint(readRegularFile(path, 'checkpoint', CHECKPOINT_MAX_BYTES));
  const model = saved.config.model;
  if (model.kind !== 'onnx') throw new RangeError(`${path} is a run of a ${model.kind ?? 'fcn'} model; catapult export writes the state dict of an ONNX model's module (for this lab's own models, README's "Reading results in Python" loads the checkpoint as it is)`);
  const imported = await importModelFile(model, readDataFile);
  const params = checkpointParams(saved, imported.layout);
  const dest = out ?? join(dirname(path), 'state_dict.safetensors');
  const metadata = { format: 'pytorch state_dict', source: model.file, step: String(saved.step), seed: String(saved.seed) };
  const partial = `${dest}.${process.pid}.partial`;
  writeFileSync(partial, encodeStateDict(imported, params, metadata), { flag: 'wx' });
  renameSync(partial, dest);
  return dest;
}
