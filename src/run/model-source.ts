// A run's network before it is built: the layers and wiring of a model config (src/nn/models.ts), or those of an
// ONNX file with its exported weights (src/nn/onnx-import.ts), read through the host's readFile. Host-neutral.
import { decodeOnnx } from '../io/onnx.ts';
import type { Gpu } from '../gpu/gpu.ts';
import { Graph } from '../nn/graph.ts';
import { modelGraph, type ModelConfig, type ModelGraph } from '../nn/models.ts';
import { sameShape, shapeSize, shapeText, type Shape } from '../nn/network.ts';
import { importOnnx, type ImportedModel } from '../nn/onnx-import.ts';
import type { ReadFile } from './data.ts';

export interface ModelSource {
  graph: ModelGraph;
  /** The parameters to start from (an imported model's); absent: drawn from the run's seed. */
  initial?: Float32Array;
  /** What an ONNX file gave, for writing its state dict back. */
  imported?: ImportedModel;
}

/** The imported model of an ONNX model config, checked against nothing yet. */
export async function importModelFile(model: Extract<ModelConfig, { kind: 'onnx' }>, readFile: ReadFile): Promise<ImportedModel> {
  const bytes = await readFile(model.file);
  return importOnnx(decodeOnnx(bytes, `model.file ${model.file}`), { parameterization: model.parameterization === 'ntk' ? 'ntk' : 'standard' });
}

/** The layers of a model for examples of `input` shape and k outputs; an ONNX model's shapes are checked against them. */
export async function loadModel(model: ModelConfig, input: Shape, k: number, readFile: ReadFile): Promise<ModelSource> {
  if (model.kind !== 'onnx') return { graph: modelGraph(model, input, k) };
  const imported = await importModelFile(model, readFile);
  const fits = imported.inputRank === 2 ? shapeSize(input) === imported.inputShape[0] : sameShape(input, imported.inputShape);
  if (!fits) {
    throw new RangeError(
      `model.file ${model.file} takes examples of ${shapeText(imported.inputShape)} (an input of rank ${imported.inputRank}), the data's are ${shapeText(input)}${imported.inputRank > 2 && shapeSize(input) === shapeSize(imported.inputShape) ? ': give the data its image shape (arrays: X as [N, c, h, w])' : ''}`,
    );
  }
  if (imported.outputs !== k) throw new RangeError(`model.file ${model.file} gives ${imported.outputs} outputs per example, the data has ${k} target${k === 1 ? '' : 's'}`);
  return { graph: { layers: imported.layers, inputs: imported.inputs }, initial: imported.params, imported };
}

/** The network of a loaded model, its parameters the imported ones or drawn from `seed`. */
export function networkOf(gpu: Gpu, source: ModelSource, input: Shape, k: number, seed: number): Graph {
  return new Graph(gpu, source.graph.layers, input, k, seed, source.initial, source.graph.inputs);
}
