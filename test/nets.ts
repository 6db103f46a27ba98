// Small networks for the tests: built from a fully connected config in the old style (input width, hidden
// widths, outputs, seed), with the float64 reference of the same layers.
import { Graph } from '../src/nn/graph.ts';
import { modelGraph, modelLayers, type ModelConfig } from '../src/nn/models.ts';
import type { Shape } from '../src/nn/network.ts';
import type { RefNet } from '../src/ref/network.ts';
import type { Gpu } from '../src/gpu/gpu.ts';
import type { FcnModel } from '../src/nn/models.ts';
import { isParamLayer, type Layer } from '../src/nn/layer.ts';
import { paramLayout } from '../src/nn/params.ts';

export interface FcnTestConfig extends FcnModel {
  inputDim: number;
  outputs: number;
  seed: number;
}

/** The network of any model on inputs of `shape`, and its reference. */
export function testNet(gpu: Gpu, model: ModelConfig, shape: Shape, outputs: number, seed: number): { net: Graph; ref: RefNet } {
  const g = modelGraph(model, shape, outputs);
  const net = new Graph(gpu, g.layers, shape, outputs, seed, undefined, g.inputs);
  return { net, ref: { layers: net.layers, layout: net.layout, inputs: net.inputs } };
}

export function fcnNet(gpu: Gpu, c: FcnTestConfig): { net: Graph; ref: RefNet } {
  const { inputDim, outputs, seed, ...model } = c;
  return testNet(gpu, model, [inputDim, 1, 1], outputs, seed);
}

/** The reference alone (no device), for tests of the float64 code. */
export function fcnRef(c: FcnTestConfig): RefNet & { seed: number } {
  const { inputDim, outputs, seed, ...model } = c;
  const layers = modelLayers(model, [inputDim, 1, 1], outputs);
  return { layers, layout: layoutOf(layers), seed };
}

export const layoutOf = (layers: readonly Layer[]) => paramLayout(layers.flatMap((l) => (isParamLayer(l) ? l.params : [])));
