// G* for AGOP alignment on real data, where no true EGOP exists: the AGOP of a reference network (a checkpoint
// written by Trainer.checkpoint) on the first n training examples.
import { exampleShape } from '../data/dataset.ts';
import type { Gpu } from '../gpu/gpu.ts';
import { NetworkAgop } from '../ntk/agop.ts';
import { checkpointParams, decodeCheckpoint } from './checkpoint.ts';
import type { ReadFile, RunData } from './data.ts';
import { loadModel, networkOf } from './model-source.ts';

export async function referenceAgop(gpu: Gpu, path: string, data: RunData, n: number, readFile: ReadFile): Promise<Float64Array> {
  if (typeof path !== 'string' || path === '') throw new RangeError('tracking.agop.reference must be the path or URL of a checkpoint (.safetensors)');
  const saved = decodeCheckpoint(await readFile(path));
  const { d, k, x } = data.train;
  const net = networkOf(gpu, await loadModel(saved.config.model, exampleShape(data.train), k, readFile), exampleShape(data.train), k, 0);
  try {
    gpu.write(net.params, checkpointParams(saved, net.layout));
    const X = gpu.matrix('reference AGOP inputs', n, d, x.subarray(0, n * d));
    const agop = new NetworkAgop(gpu, net, n);
    const G = await agop.compute(X);
    agop.destroy();
    X.buffer.destroy();
    return G;
  } catch (e) {
    throw new RangeError(`tracking.agop.reference ${path}: ${(e as Error).message}`);
  } finally {
    net.destroy();
  }
}
