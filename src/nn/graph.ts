// The network runtime: a directed acyclic graph of layers (src/nn/layers/) over one flat parameter buffer, with
// the buffers of each batch size, recorded into a caller's step (so a training step is one command encoder).
// Node i reads the outputs of earlier nodes (inputs[i]; −1 is the network's input X; one input but for the
// join of a residual block, which adds two); the last node is the network's output. A sequential net is the
// chain inputs[i] = [i − 1].
//   forward:  node by node; the tape names this pass.
//   backward, seed S = ∂(Σ S ⊙ f)/∂f: from the last node down, each node's dy is the sum of what its consumers
//             sent it (a node with one consumer gets it written in place, one with several sums theirs); a
//             parametrized layer turns dy into δ = dy ⊙ act′ (ReLU's mask, read from its output), its
//             gradients from δ and its input, and sends dx down; a join sends dy to both its inputs as it is.
//   jvp:      forward-mode, node by node, from each layer's own tangent tensors; J u is the last node's tangent.
//   hessianVectorBackward: the R-operator of backward along u, the same reverse traversal, with the
//             activation masks held fixed (the Hessian almost everywhere, as autograd's double backward gives it).
// With S = (2/b)(f − y) backward gives the MSE loss's gradients; with S = e_a the rows of the Jacobian that
// the NTK and the AGOP are built from.
import { BufferLimitError } from '../gpu/errors.ts';
import type { Gpu } from '../gpu/gpu.ts';
import { Matrix } from '../gpu/matrix.ts';
import { activationBackward, dispatch, linearCombination } from '../kernels/ops.ts';
import type { Step } from '../gpu/step.ts';
import { addInPlace } from '../../shaders/lincomb.ts';
import { isParamLayer, type FreeLayer, type Layer, type LayerBuffers, type LayerScratch, type LayerTensors, type ParamLayer } from './layer.ts';
import { sameShape, shapeSize, shapeText, type BackwardOptions, type BackwardPass, type ForwardOptions, type Network, type Shape, type SiteInfo, type Tape, type TangentPass } from './network.ts';
import { modelGraph, sequentialInputs, type ModelConfig } from './models.ts';
import { initParams, paramLayout, type ParamLayout, type ParamTensor } from './params.ts';

/** The parameter layout of a sequence of layers: every parametrized layer's tensors, in order. */
export function layersLayout(layers: readonly Layer[]): ParamLayout {
  return paramLayout(layers.flatMap((l) => (isParamLayer(l) ? l.params : [])));
}

function layerTensors(layout: ParamLayout, l: ParamLayer): { weight: ParamTensor; bias: ParamTensor | null } {
  const find = (i: number) => (l.params[i] ? layout.tensors.find((t) => t.name === l.params[i].name)! : null);
  return { weight: find(0)!, bias: find(1) };
}

/** What the NTK methods see of each parametrized layer (pure: the cost model uses it without a device). */
export function networkSites(layers: readonly Layer[], layout: ParamLayout): SiteInfo[] {
  return layers.filter(isParamLayer).map((l) => {
    const { weight, bias } = layerTensors(layout, l);
    return { name: l.name, kind: l.kind, layer: l, weight, bias, inSize: shapeSize(l.inShape), outSize: shapeSize(l.outShape), structured: l.structured, frozen: weight.frozen };
  });
}

/** The network of a model config for examples of `input` shape and k outputs, initialized from `seed` (or `initial`). */
export function buildNetwork(gpu: Gpu, model: ModelConfig, input: Shape, k: number, seed: number, initial?: Float32Array): Graph {
  const g = modelGraph(model, input, k);
  return new Graph(gpu, g.layers, input, k, seed, initial, g.inputs);
}

/** Checks a graph's wiring: inputs from earlier nodes of the shapes the layers take, and every node used. */
export function checkWiring(layers: readonly Layer[], inputs: readonly (readonly number[])[], input: Shape): number[] {
  if (inputs.length !== layers.length) throw new RangeError(`a graph of ${layers.length} layers needs ${layers.length} input lists, got ${inputs.length}`);
  const uses = new Array<number>(layers.length + 1).fill(0);
  for (const [i, l] of layers.entries()) {
    const from = inputs[i];
    const arity = l.kind === 'add' ? 2 : 1;
    if (from.length !== arity) throw new RangeError(`layer ${i} (${l.kind} "${l.name}") takes ${arity} input${arity > 1 ? 's' : ''}, the graph gives it ${from.length}`);
    for (const j of from) {
      if (!Number.isInteger(j) || j < -1 || j >= i) throw new RangeError(`layer ${i} (${l.kind} "${l.name}") reads node ${j}: a layer reads the input (−1) or an earlier layer`);
      const shape = j < 0 ? input : layers[j].outShape;
      // The network's input is a row of values: a fully connected first layer reads an image as its vector.
      if (j < 0 ? shapeSize(shape) !== shapeSize(l.inShape) : !sameShape(shape, l.inShape)) throw new RangeError(`layer ${i} (${l.kind} "${l.name}") takes ${shapeText(l.inShape)}, node ${j} gives ${shapeText(shape)}`);
      uses[j + 1]++;
    }
  }
  for (let j = 0; j < layers.length - 1; j++) if (uses[j + 1] === 0) throw new RangeError(`layer ${j} (${layers[j].kind} "${layers[j].name}") feeds no later layer and is not the output`);
  return uses;
}

/** Buffers of one batch size: every layer's output and pre-activation, and the backward pass's sensitivities. */
interface Workspace {
  b: number;
  /** Bumped by every forward pass into this workspace; a tape of another generation is stale. */
  generation: number;
  y: (Matrix | null)[];
  pre: (Matrix | null)[];
  /** δ of layers with a ReLU (the others' δ is dy itself). */
  delta: (Matrix | null)[];
  /** Where the backward pass writes or sums each node's dy (made on first use). */
  reverse: ReverseBuffers;
  /** The dy each node got in the last backward pass (the R-operator reads a parametrized layer's δ from it). */
  dy: (Matrix | null)[];
  /** The buffers parameter-free layers declared. */
  buffers: (LayerBuffers | null)[];
  ones: Matrix;
  /** The matrices of the last forward pass: each layer's (first) input and output (flatten's alias its input). */
  inputs: Matrix[];
  outputs: Matrix[];
  /** Backward passes recorded into this workspace: a BackwardPass of an earlier count is stale. */
  backwards: number;
}

/** The buffers of one reverse traversal: a node's own dy buffer, and one per consumer of a node with several. */
interface ReverseBuffers {
  label: string;
  own: (Matrix | null)[];
  edge: Map<string, Matrix>;
}

/** Buffers of the forward-mode and second-order passes for one batch size. */
interface TangentWorkspace {
  hdot: (Matrix | null)[];
  ydot: (Matrix | null)[];
  rDelta: (Matrix | null)[];
  reverse: ReverseBuffers;
  scratch: (LayerScratch | null)[];
  /** The tangent of each layer's input in the last jvp (null: zero). */
  inTangent: (Matrix | null)[];
  /** Tangent passes recorded into this workspace: a TangentPass of an earlier count is stale. */
  tangents: number;
}

/** What one node of a reverse traversal sends each of its inputs: a matrix (null: nothing). */
type Sent = (Matrix | null)[];

export class Graph implements Network {
  readonly layout: ParamLayout;
  readonly params: GPUBuffer;
  readonly grads: GPUBuffer;
  readonly sites: readonly SiteInfo[];
  readonly inputSize: number;
  readonly microBatch: number;
  readonly inputs: readonly (readonly number[])[];
  readonly hessianUnsupported: string | null;
  /** Each layer's index among the parametrized layers (−1 for the others). */
  private readonly siteOf: number[];
  /** Consumers of each node's output, at index node + 1 (index 0: the network's input). */
  private readonly uses: number[];
  /** The parametrized layers' tensors by layer index (undefined for parameter-free layers). */
  private readonly tensors: ({ weight: ParamTensor; bias: ParamTensor | null } | undefined)[];
  /** By workspace key (the batch size, and the workspace's name where the caller gave one). */
  private readonly workspaces = new Map<string, Workspace>();
  private readonly tangentWorkspaces = new Map<string, TangentWorkspace>();
  private generations = 0;

  constructor(
    readonly gpu: Gpu,
    readonly layers: readonly Layer[],
    readonly inputShape: Shape,
    readonly outputs: number,
    seed: number,
    initial?: Float32Array,
    inputs?: readonly (readonly number[])[],
  ) {
    if (layers.length === 0) throw new RangeError('a network needs at least one layer');
    this.inputSize = shapeSize(inputShape);
    this.inputs = inputs ?? sequentialInputs(layers.length);
    this.uses = checkWiring(layers, this.inputs, inputShape);
    this.layout = layersLayout(layers);
    this.tensors = layers.map((l) => (isParamLayer(l) ? layerTensors(this.layout, l) : undefined));
    this.sites = networkSites(layers, this.layout);
    let site = 0;
    this.siteOf = layers.map((l) => (isParamLayer(l) ? site++ : -1));
    const nonlinear = layers.find((l): l is FreeLayer => l.kind !== 'add' && !isParamLayer(l) && !l.linear);
    this.hessianUnsupported = nonlinear ? `the ${nonlinear.kind} layer "${nonlinear.name}" has no R-operator (second derivative)` : null;
    const last = layers[layers.length - 1].outShape;
    if (shapeSize(last) !== outputs) throw new RangeError(`the network ends in ${shapeText(last)} values per example, the data has ${outputs} targets`);
    // The largest batch whose every activation buffer fits one storage binding.
    const widest = Math.max(
      this.inputSize,
      ...layers.map((l) => Math.max(shapeSize(l.inShape), shapeSize(l.outShape), ...Object.values((l as FreeLayer).buffers ?? {}))),
    );
    const limit = gpu.limits.maxStorageBufferBindingSize;
    this.microBatch = Math.floor(limit / (4 * widest));
    if (this.microBatch < 1) {
      throw new BufferLimitError('one example\'s activations', 'maxStorageBufferBindingSize', 4 * widest, limit, 'use fewer channels or smaller images');
    }
    const size = this.layout.size * 4;
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const shrink = 'use fewer or narrower layers';
    this.params = gpu.createBuffer({ label: 'parameters', size, usage, shrink });
    this.grads = gpu.createBuffer({ label: 'gradients', size, usage, shrink });
    const p = initial ?? initParams(this.layout, seed);
    if (p.length !== this.layout.size) throw new RangeError(`parameters: ${p.length} values for a layout of ${this.layout.size}`);
    gpu.write(this.params, p);
  }

  /** Layer i's tensors as matrices of a parameter-shaped buffer (W as out × the rest). */
  private view(i: number, buffer: GPUBuffer): LayerTensors {
    const t = this.tensors[i]!;
    const out = t.weight.shape[0];
    return {
      weight: new Matrix(buffer, out, t.weight.count / out, t.weight.offset * 4),
      bias: t.bias ? new Matrix(buffer, 1, t.bias.count, t.bias.offset * 4) : null,
    };
  }

  paramVector(buffer: GPUBuffer = this.params): Matrix {
    return new Matrix(buffer, this.layout.size, 1);
  }

  private checkInput(X: Matrix): void {
    if (X.cols !== this.inputSize) throw new RangeError(`the network takes ${this.inputSize} inputs per example (${shapeText(this.inputShape)}), X has ${X.cols} columns`);
    if (X.rows < 1) throw new RangeError('the batch is empty');
  }

  isCurrent(tape: Tape): boolean {
    return this.workspaces.get(tape.workspace)?.generation === tape.generation;
  }

  private fresh(tape: Tape): Workspace {
    const ws = this.workspaces.get(tape.workspace);
    if (!ws || !this.isCurrent(tape)) {
      const named = tape.workspace.split(':')[1];
      throw new Error(`stale tape: a later forward pass at batch size ${tape.b}${named ? ` in workspace "${named}"` : ''} has overwritten the activations of this one; run forward again`);
    }
    return ws;
  }

  async forward(step: Step, X: Matrix, options: ForwardOptions = {}): Promise<Tape> {
    this.checkInput(X);
    const key = options.workspace ? `${X.rows}:${options.workspace}` : `${X.rows}`;
    const ws = this.workspace(key, X.rows);
    ws.generation = ++this.generations;
    const node = (j: number) => (j < 0 ? X : ws.outputs[j]);
    for (const [i, layer] of this.layers.entries()) {
      const from = this.inputs[i];
      const a = node(from[0]);
      ws.inputs[i] = a;
      let out: Matrix;
      if (layer.kind === 'add') {
        out = ws.y[i]!;
        await linearCombination(step, 1, a, 1, node(from[1]), out);
      } else if (!isParamLayer(layer)) {
        if (layer.alias) out = new Matrix(a.buffer, a.rows, shapeSize(layer.outShape), a.offset);
        else {
          out = ws.y[i]!;
          await layer.forward(step, a, out, ws.buffers[i]!);
        }
      } else {
        out = ws.y[i]!;
        await layer.forward(step, a, ws.pre[i]!, out, this.view(i, this.params));
      }
      ws.outputs[i] = out;
    }
    return { b: X.rows, X, output: ws.outputs[this.layers.length - 1], generation: ws.generation, workspace: key };
  }

  /**
   * The reverse traversal backward and the R-operator pass share. `visit(i, dy, target)` records node i's part
   * and says what it sends each input: a matrix it wrote into target(slot) (a buffer of the input's shape, null
   * when nothing below needs it), or one it already has (a join's dy). A node whose output several layers read
   * gets the sum of theirs; the network's input gets its sum in `sink` (when given).
   */
  private async reverse(step: Step, b: number, buffers: ReverseBuffers, top: Matrix, sink: Matrix | null, visit: (i: number, dy: Matrix, target: (slot: number) => Matrix | null) => Promise<Sent>): Promise<void> {
    // What each node has been sent so far, at index node + 1 (index 0: the network's input).
    const pending: Matrix[][] = Array.from({ length: this.layers.length + 1 }, () => []);
    pending[this.layers.length].push(top);
    const shrink = 'use a smaller batch or narrower layers';
    const own = (j: number) => (buffers.own[j] ??= this.gpu.matrix(`${buffers.label} ${j} (batch ${b})`, b, shapeSize(this.layers[j].outShape), undefined, shrink));
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const dy = await this.sum(step, pending[i + 1], () => own(i));
      const from = this.inputs[i];
      const target = (slot: number): Matrix | null => {
        const j = from[slot];
        if (j < 0 && !sink) return null;
        if (this.uses[j + 1] === 1) return j < 0 ? sink : own(j);
        const key = `${i}.${slot}`;
        let m = buffers.edge.get(key);
        if (!m) {
          m = this.gpu.matrix(`${buffers.label} ${j} from ${i} (batch ${b})`, b, j < 0 ? this.inputSize : shapeSize(this.layers[j].outShape), undefined, shrink);
          buffers.edge.set(key, m);
        }
        return m;
      };
      const sent = await visit(i, dy, target);
      for (const [slot, m] of sent.entries()) if (m) pending[from[slot] + 1].push(m);
    }
    if (!sink) return;
    const parts = pending[0];
    if (parts.length === 1 && parts[0] === sink) return;
    if (parts.length === 1) step.copy(parts[0].buffer, sink.buffer, sink.length * 4, parts[0].offset, sink.offset);
    else if (parts.length > 1) await this.sum(step, parts, () => sink);
    else await linearCombination(step, 0, sink, 0, sink, sink);
  }

  /** One matrix of several parts: the part itself when there is one, else their sum in `into()`. */
  private async sum(step: Step, parts: Matrix[], into: () => Matrix): Promise<Matrix> {
    if (parts.length === 1) return parts[0];
    const out = into();
    await linearCombination(step, 1, parts[0], 1, parts[1], out);
    for (const m of parts.slice(2)) await dispatch(step, addInPlace, [m, out], { count: out.length });
    return out;
  }

  async backward(step: Step, tape: Tape, seed: Matrix, options: BackwardOptions = {}): Promise<BackwardPass> {
    const ws = this.fresh(tape);
    const paramGrads = options.paramGrads ?? true;
    const into = options.into ?? this.grads;
    if (into.size < this.layout.size * 4) throw new RangeError(`backward: "${into.label}" holds ${into.size / 4} values, the parameters ${this.layout.size}`);
    if (seed.rows !== tape.b || seed.cols !== this.outputs) throw new RangeError(`backward: seed must be ${tape.b}×${this.outputs}, got ${seed.rows}×${seed.cols}`);
    const inputGrad = options.inputGrad;
    if (inputGrad && (inputGrad.rows !== tape.b || inputGrad.cols !== this.inputSize)) {
      throw new RangeError(`backward: inputGrad must be ${tape.b}×${this.inputSize}, got ${inputGrad.rows}×${inputGrad.cols}`);
    }
    await this.reverse(step, tape.b, ws.reverse, seed, inputGrad ?? null, async (i, dy, target) => {
      ws.dy[i] = dy;
      const layer = this.layers[i];
      if (layer.kind === 'add') return [dy, dy];
      if (!isParamLayer(layer)) {
        if (layer.alias) return [this.reshape(dy, layer.inShape)];
        const dx = target(0);
        if (dx) await layer.backward(step, ws.outputs[i], dy, dx, ws.inputs[i], ws.buffers[i]!);
        return [dx];
      }
      const delta = await this.sensitivity(step, ws, i, layer, dy);
      options.onSite?.({ site: this.siteOf[i], x: ws.inputs[i], delta });
      const g = paramGrads && !this.tensors[i]!.weight.frozen ? this.view(i, into) : null;
      const dx = target(0);
      await layer.backward(step, ws.inputs[i], delta, g, dx, this.view(i, this.params), ws.ones);
      return [dx];
    });
    return { tape, seed, count: ++ws.backwards };
  }

  private reshape(m: Matrix, shape: Shape): Matrix {
    return new Matrix(m.buffer, m.rows, shapeSize(shape), m.offset);
  }

  /** δ = dy ⊙ act′: ReLU's mask from the layer's output into the δ buffer; dy itself for the identity. */
  private async sensitivity(step: Step, ws: Workspace, i: number, layer: ParamLayer, dy: Matrix): Promise<Matrix> {
    if (layer.activation === 'identity') return dy;
    await activationBackward(step, dy, ws.outputs[i], ws.delta[i]!, 'relu');
    return ws.delta[i]!;
  }

  async jvp(step: Step, tape: Tape, tangent: GPUBuffer, out: Matrix): Promise<TangentPass> {
    const ws = this.fresh(tape);
    const b = tape.b;
    if (out.rows !== b || out.cols !== this.outputs) throw new RangeError(`jvp: out must be ${b}×${this.outputs}, got ${out.rows}×${out.cols}`);
    if (tangent.size < this.layout.size * 4) throw new RangeError(`jvp: "${tangent.label}" holds ${tangent.size / 4} values, the parameters ${this.layout.size}`);
    const tw = this.tangentWorkspace(tape.workspace, b);
    // Each node's tangent, or null while it is zero (the input, and everything that depends on no trainable layer).
    const tangents: (Matrix | null)[] = [];
    const of = (j: number) => (j < 0 ? null : tangents[j]);
    const lastIndex = this.layers.length - 1;
    for (const [i, layer] of this.layers.entries()) {
      const last = i === lastIndex;
      const from = this.inputs[i];
      const prev = of(from[0]);
      tw.inTangent[i] = prev;
      if (layer.kind === 'add') {
        const other = of(from[1]);
        if (prev && other) {
          const dest = last ? out : tw.ydot[i]!;
          await linearCombination(step, 1, prev, 1, other, dest);
          tangents[i] = dest;
        } else tangents[i] = prev ?? other;
        continue;
      }
      if (!isParamLayer(layer)) {
        if (!prev) tangents[i] = null;
        else if (layer.alias) tangents[i] = this.reshape(prev, layer.outShape);
        else {
          const dest = last ? out : tw.ydot[i]!;
          await layer.tangent(step, ws.outputs[i], prev, dest, ws.inputs[i], ws.buffers[i]!);
          tangents[i] = dest;
        }
        continue;
      }
      const u = this.tensors[i]!.weight.frozen ? null : this.view(i, tangent);
      const relu = layer.activation === 'relu';
      const hdot = last && !relu ? out : tw.hdot[i]!;
      const nonzero = await layer.tangent(step, ws.inputs[i], prev, u, hdot, this.view(i, this.params), this.scratch(tape.workspace, b, i, ws));
      if (!nonzero) {
        tangents[i] = null;
        continue;
      }
      if (relu) {
        const dest = last ? out : tw.ydot[i]!;
        await activationBackward(step, hdot, ws.outputs[i], dest, 'relu');
        tangents[i] = dest;
      } else tangents[i] = hdot;
    }
    const result = tangents[lastIndex];
    if (!result) await linearCombination(step, 0, ws.outputs[lastIndex], 0, ws.outputs[lastIndex], out);
    else if (result !== out) step.copy(result.buffer, out.buffer, out.length * 4, result.offset, out.offset);
    return { tape, tangent, count: ++tw.tangents };
  }

  async hessianVectorBackward(step: Step, backward: BackwardPass, along: TangentPass, seedDot: Matrix, into: GPUBuffer): Promise<void> {
    if (this.hessianUnsupported) throw new RangeError(`Hessian-vector products: ${this.hessianUnsupported}`);
    const tape = backward.tape;
    if (along.tape.workspace !== tape.workspace || along.tape.generation !== tape.generation) throw new Error('Hessian-vector product: the backward and tangent passes are of different tapes');
    const ws = this.fresh(tape);
    const tw = this.tangentWorkspace(tape.workspace, tape.b);
    if (ws.backwards !== backward.count) throw new Error('stale backward pass: a later backward pass into its workspace overwrote the sensitivities the Hessian-vector product reads');
    if (tw.tangents !== along.count) throw new Error('stale tangent pass: a later jvp into its workspace overwrote the tangents the Hessian-vector product reads');
    const tangent = along.tangent;
    await this.reverse(step, tape.b, tw.reverse, seedDot, null, async (i, rDy, target) => {
      const layer = this.layers[i];
      if (layer.kind === 'add') return [rDy, rDy];
      if (!isParamLayer(layer)) {
        if (layer.alias) return [this.reshape(rDy, layer.inShape)];
        // A parameter-free layer here is linear in x (or a ReLU with its mask held fixed): its R-operator is its backward.
        const rdx = target(0);
        if (rdx) await layer.backward(step, ws.outputs[i], rDy, rdx, ws.inputs[i], ws.buffers[i]!);
        return [rdx];
      }
      const relu = layer.activation === 'relu';
      let rDelta = rDy;
      if (relu) {
        await activationBackward(step, rDy, ws.outputs[i], tw.rDelta[i]!, 'relu');
        rDelta = tw.rDelta[i]!;
      }
      const delta = relu ? ws.delta[i]! : ws.dy[i]!;
      const frozen = this.tensors[i]!.weight.frozen;
      const wantDx = this.inputs[i][0] >= 0;
      return [await layer.rBackward(step, ws.inputs[i], tw.inTangent[i], delta, rDelta, frozen ? null : this.view(i, tangent), frozen ? null : this.view(i, into), wantDx, this.view(i, this.params), this.scratch(tape.workspace, tape.b, i, ws))];
    });
  }

  async readParams(): Promise<Float32Array> {
    return this.gpu.read(this.params);
  }

  async readGrads(): Promise<Float32Array> {
    return this.gpu.read(this.grads);
  }

  private workspace(key: string, b: number): Workspace {
    let ws = this.workspaces.get(key);
    if (ws) return ws;
    if (b > this.microBatch) {
      throw new BufferLimitError(`activations of a batch of ${b}`, 'maxStorageBufferBindingSize', b * 4 * Math.floor(this.gpu.limits.maxStorageBufferBindingSize / (4 * this.microBatch)), this.gpu.limits.maxStorageBufferBindingSize, `use batches of at most ${this.microBatch} examples (micro-batches)`);
    }
    const shrink = 'use a smaller batch or narrower layers';
    const m = (label: string, cols: number) => this.gpu.matrix(`${label} (batch ${b})`, b, cols, undefined, shrink);
    const isAlias = (l: Layer) => l.kind !== 'add' && !isParamLayer(l) && l.alias;
    ws = {
      b,
      generation: 0,
      y: this.layers.map((l, i) => (isAlias(l) ? null : m(`output ${i}`, shapeSize(l.outShape)))),
      pre: this.layers.map((l, i) => (isParamLayer(l) ? m(`pre-activation ${i}`, shapeSize(l.outShape)) : null)),
      delta: this.layers.map((l, i) => (isParamLayer(l) && l.activation === 'relu' ? m(`delta ${i}`, shapeSize(l.outShape)) : null)),
      reverse: { label: 'dy', own: this.layers.map(() => null), edge: new Map() },
      dy: this.layers.map(() => null),
      buffers: this.layers.map((l, i) => {
        const wanted = l.kind === 'add' || isParamLayer(l) ? undefined : l.buffers;
        return Object.fromEntries(Object.entries(wanted ?? {}).map(([name, perExample]) => [name, m(`${name} ${i}`, perExample)]));
      }),
      ones: this.gpu.matrix(`ones (batch ${b})`, 1, b, new Float32Array(b).fill(1), shrink),
      inputs: [],
      outputs: [],
      backwards: 0,
    };
    this.workspaces.set(key, ws);
    return ws;
  }

  private tangentWorkspace(key: string, b: number): TangentWorkspace {
    let tw = this.tangentWorkspaces.get(key);
    if (tw) return tw;
    const shrink = 'use a smaller batch or narrower layers';
    const m = (label: string, cols: number) => this.gpu.matrix(`${label} (batch ${b})`, b, cols, undefined, shrink);
    const makes = (l: Layer) => l.kind === 'add' || (!isParamLayer(l) && !l.alias);
    tw = {
      hdot: this.layers.map((l, i) => (isParamLayer(l) ? m(`tangent pre-activation ${i}`, shapeSize(l.outShape)) : null)),
      ydot: this.layers.map((l, i) => (makes(l) || (isParamLayer(l) && l.activation === 'relu') ? m(`tangent ${i}`, shapeSize(l.outShape)) : null)),
      rDelta: this.layers.map((l, i) => (isParamLayer(l) && l.activation === 'relu' ? m(`R{delta} ${i}`, shapeSize(l.outShape)) : null)),
      reverse: { label: 'R{dy}', own: this.layers.map(() => null), edge: new Map() },
      scratch: this.layers.map(() => null),
      inTangent: [],
      tangents: 0,
    };
    this.tangentWorkspaces.set(key, tw);
    return tw;
  }

  /** Temporaries of parametrized layer i at batch size b, made on first use (tangent and R-operator passes). */
  private scratch(key: string, b: number, i: number, ws: Workspace): LayerScratch {
    const tw = this.tangentWorkspace(key, b);
    const have = tw.scratch[i];
    if (have) return have;
    const layer = this.layers[i] as ParamLayer;
    const shrink = 'use a smaller batch or narrower layers';
    const out = shapeSize(layer.outShape);
    const inSize = shapeSize(layer.inShape);
    const w = this.tensors[i]!.weight;
    const m = (label: string, rows: number, cols: number) => this.gpu.matrix(`${label} ${i} (batch ${b})`, rows, cols, undefined, shrink);
    const reads = this.inputs[i][0] >= 0;
    const s: LayerScratch = {
      outA: m('tangent from weights', b, out),
      outB: m('tangent from inputs', b, out),
      outC: m('tangent sum', b, out),
      inA: reads ? m('R{dx} term A', b, inSize) : null,
      inB: reads ? m('R{dx} term B', b, inSize) : null,
      inC: reads ? m('R{dx}', b, inSize) : null,
      weightA: m('R{grad W} term A', w.shape[0], w.count / w.shape[0]),
      weightB: m('R{grad W} term B', w.shape[0], w.count / w.shape[0]),
      ones: ws.ones,
    };
    tw.scratch[i] = s;
    return s;
  }

  destroy(): void {
    this.params.destroy();
    this.grads.destroy();
    const reverse = (r: ReverseBuffers) => [...r.own, ...r.edge.values()];
    for (const ws of this.workspaces.values()) {
      for (const m of [...ws.y, ...ws.pre, ...ws.delta, ...reverse(ws.reverse), ...ws.buffers.flatMap((x) => Object.values(x ?? {})), ws.ones]) m?.buffer.destroy();
    }
    this.workspaces.clear();
    for (const tw of this.tangentWorkspaces.values()) {
      for (const m of [...tw.hdot, ...tw.ydot, ...tw.rDelta, ...reverse(tw.reverse)]) m?.buffer.destroy();
      for (const s of tw.scratch) for (const m of s ? [s.outA, s.outB, s.outC, s.inA, s.inB, s.inC, s.weightA, s.weightB] : []) m?.buffer.destroy();
    }
    this.tangentWorkspaces.clear();
  }
}
