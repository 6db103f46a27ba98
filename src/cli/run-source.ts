// What `catapult run`, `sweep` and `show` run: a preset by name, a config file (.json, a TrainConfig as
// README's "Training configs" describes it), or an ONNX model (.onnx) trained with default settings on the
// arrays that --data names. Either file becomes a preset of its own (ownPreset), named after the file, so it
// gets the same run folder, summary, report and lab entry as a preset's run.
import { basename } from 'node:path';
import { readNpy } from '../io/safetensors.ts';
import { findPreset, ownPreset, PRESETS, type Preset } from '../run/presets.ts';
import { exampleShape } from '../data/dataset.ts';
import { buildData } from '../run/data.ts';
import { loadModel } from '../run/model-source.ts';
import { partSeeds, validateTrainConfig, type TrainConfig } from '../run/train.ts';
import { readDataFile, readRegularFile } from './data-files.ts';

/** The largest config file read (a config is a few hundred bytes; a graph model's layers a few kilobytes). */
const CONFIG_MAX_BYTES = 1 << 20;

/** The settings an ONNX model trains with unless --set says otherwise (README: "Bring your own PyTorch model"). */
export function onnxRunConfig(file: string, data: string | undefined): TrainConfig {
  const files = (data ?? '').split(',').map((s) => s.trim());
  if (files.length !== 2 || files.some((f) => f === '')) {
    throw new RangeError(`catapult run ${file} needs its data: --data X.npy,Y.npy (inputs [N, …] and targets [N] or [N, k]); or write a config file whose model is {"kind": "onnx", "file": "${file}"}`);
  }
  const [x, y] = files;
  const n = readNpy(readRegularFile(x, '--data', 1 << 30), `--data ${x}`).shape[0];
  if (!(n >= 1)) throw new RangeError(`--data ${x} has no examples`);
  const full = n <= 256;
  return {
    data: { kind: 'arrays', x, y, train: n },
    model: { kind: 'onnx', file },
    loss: 'mse',
    optimizer: { name: 'sgd' },
    lrUnit: 'eta-crit',
    schedule: { kind: 'constant', lr: 0.5 },
    batchSize: full ? 'full' : 32,
    steps: 100,
    evalEvery: 10,
    tracking: { set: { examples: Math.min(n, 128) }, ...(full ? {} : { batch: {} }) },
    seed: 0,
  };
}

/** A preset name, a .json config file or an .onnx model, as a preset; `data` is --data (for .onnx only). */
export function runSource(arg: string, data?: string): Preset {
  const ext = /\.(json|onnx)$/i.exec(arg)?.[1]?.toLowerCase();
  if (!ext) {
    if (data !== undefined) throw new RangeError(`--data is for an ONNX model (catapult run model.onnx --data X.npy,Y.npy); preset ${arg} has its own data (change it with --set data.…)`);
    try {
      return findPreset(arg);
    } catch {
      throw new RangeError(`unknown preset "${arg}", and not a config file (.json) or an ONNX model (.onnx); the presets are: ${PRESETS.map((q) => q.name).join(', ')}`);
    }
  }
  const name = basename(arg).replace(/\.(json|onnx)$/i, '') || ext;
  if (ext === 'onnx') return ownPreset(name, onnxRunConfig(arg, data), { path: arg, kind: 'onnx' });
  if (data !== undefined) throw new RangeError(`--data is for an ONNX model; the config file ${arg} names its data in its "data" field`);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(readRegularFile(arg, 'config', CONFIG_MAX_BYTES));
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (e) {
    throw new RangeError(`config ${arg} is not JSON (${(e as Error).message})`);
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new RangeError(`config ${arg} must be a JSON object (a training config, README: "Training configs"), got ${Array.isArray(config) ? 'a list' : JSON.stringify(config)}`);
  return ownPreset(name, config as TrainConfig, { path: arg, kind: 'config' });
}

/**
 * Checks a source's resolved config before any device is asked for: the config itself (a config file's
 * errors name the file), and for an ONNX model its file and its data, read and imported, so a model that
 * cannot be built (an unknown operator, shapes that disagree with the data) fails before anything is allocated.
 */
export async function checkSource(source: Preset, config: TrainConfig): Promise<void> {
  try {
    validateTrainConfig(config);
    if (config.model.kind === 'onnx') {
      const data = await buildData(config.data, partSeeds(config.seed).data, readDataFile);
      await loadModel(config.model, exampleShape(data.train), data.train.k, readDataFile);
    }
  } catch (e) {
    if (e instanceof RangeError && source.file?.kind === 'config' && !e.message.includes(source.file.path)) throw new RangeError(`config ${source.file.path}: ${e.message}`);
    throw e;
  }
}
