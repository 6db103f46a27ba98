// The network runtime: a sequence of layers (src/nn/layers/) over one flat parameter buffer, with the buffers
// of each batch size, recorded into a caller's step (so a training step is one command encoder).
//   forward:  a_0 = X, a_{i+1} = layer_i(a_i); the tape names this pass.
//   backward, seed S = ∂(Σ S ⊙ f)/∂f: dy_{L−1} = S; for each layer from the top, δ = dy ⊙ act′ (ReLU's mask,
//             read from the layer's output), its gradients from δ and its input, and dy_{i−1} = dx.
//   jvp:      ẏ_i from ẏ_{i−1} and the layer's own tangent tensors; J u = ẏ_{L−1}.
//   hessianVectorBackward: the R-operator of backward along u with the activation masks held fixed (the
//             Hessian almost everywhere, as autograd's double backward gives it).
// With S = (2/b)(f − y) backward gives the MSE loss's gradients; with S = e_a the rows of the Jacobian that
// the NTK and the AGOP are built from.
import { BufferLimitError } from '../gpu/errors.ts';
import type { Gpu } from '../gpu/gpu.ts';
import { Matrix } from '../gpu/matrix.ts';
import { activationBackward, linearCombination } from '../gpu/ops.ts';
import type { Step } from '../gpu/step.ts';
import { isParamLayer, type Layer, type LayerScratch, type LayerTensors, type ParamLayer } from './layer.ts';
import { shapeSize, shapeText, type BackwardOptions, type Network, type Shape, type SiteInfo, type Tape } from './network.ts';
import { modelLayers, type ModelConfig } from './models.ts';
import { initParams, paramLayout, type ParamLayout, type ParamTensor } from './params.ts';

/** The parameter layout of a sequence of layers: every parametrized layer's tensors, in order. */
export function layersLayout(layers: readonly Layer[]): ParamLayout {
  return paramLayout(layers.flatMap((l) => (isParamLayer(l) ? l.params : [])));
}

function layerTensors(layout: ParamLayout, l: ParamLayer): { weight: ParamTensor; bias: ParamTensor | null } {
  const find = (suffix: string) => layout.tensors.find((t) => t.name === `${l.name}.${suffix}`) ?? null;
  return { weight: find('weight')!, bias: find('bias') };
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
  return new Graph(gpu, modelLayers(model, input, k), input, k, seed, initial);
}

/** Buffers of one batch size: every layer's output and pre-activation, and the backward pass's sensitivities. */
interface Workspace {
  b: number;
  /** Bumped by every forward pass at this batch size; a tape of another generation is stale. */
  generation: number;
  y: (Matrix | null)[];
  pre: (Matrix | null)[];
  /** δ of layers with a ReLU (the others' δ is dy itself). */
  delta: (Matrix | null)[];
  /** dy_i, the gradient with respect to layer i's output, written by layer i + 1 (none for the last). */
  dy: (Matrix | null)[];
  ones: Matrix;
  /** The matrices of the last forward pass: each layer's input and output (flatten's alias its input). */
  inputs: Matrix[];
  outputs: Matrix[];
  /** The seed and generation of the last backward pass, whose δ the R-operator reads. */
  backwardSeed: Matrix | null;
  backwardGeneration: number;
}

/** Buffers of the forward-mode and second-order passes for one batch size. */
interface TangentWorkspace {
  hdot: (Matrix | null)[];
  ydot: (Matrix | null)[];
  rDelta: (Matrix | null)[];
  /** R{dy_i} written by a parameter-free layer above layer i (made on first use). */
  rDy: (Matrix | null)[];
  scratch: (LayerScratch | null)[];
  /** The tangent of each layer's input in the last jvp (null: zero), and which tangent buffer and generation. */
  inTangent: (Matrix | null)[];
  tangentOf: GPUBuffer | null;
  tangentGeneration: number;
}

export class Graph implements Network {
  readonly layout: ParamLayout;
  readonly params: GPUBuffer;
  readonly grads: GPUBuffer;
  readonly sites: readonly SiteInfo[];
  readonly inputSize: number;
  readonly microBatch: number;
  /** The parametrized layers' tensors by layer index (undefined for parameter-free layers). */
  private readonly tensors: ({ weight: ParamTensor; bias: ParamTensor | null } | undefined)[];
  private readonly workspaces = new Map<number, Workspace>();
  private readonly tangentWorkspaces = new Map<number, TangentWorkspace>();
  private generations = 0;

  constructor(
    readonly gpu: Gpu,
    readonly layers: readonly Layer[],
    readonly inputShape: Shape,
    readonly outputs: number,
    seed: number,
    initial?: Float32Array,
  ) {
    if (layers.length === 0) throw new RangeError('a network needs at least one layer');
    this.inputSize = shapeSize(inputShape);
    this.layout = layersLayout(layers);
    this.tensors = layers.map((l) => (isParamLayer(l) ? layerTensors(this.layout, l) : undefined));
    this.sites = networkSites(layers, this.layout);
    const last = layers[layers.length - 1].outShape;
    if (shapeSize(last) !== outputs) throw new RangeError(`the network ends in ${shapeText(last)} values per example, the data has ${outputs} targets`);
    // The largest batch whose every activation buffer fits one storage binding.
    const widest = Math.max(this.inputSize, ...layers.map((l) => Math.max(shapeSize(l.inShape), shapeSize(l.outShape))));
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

  private fresh(tape: Tape): Workspace {
    const ws = this.workspaces.get(tape.b);
    if (!ws || ws.generation !== tape.generation) {
      throw new Error(`stale tape: a later forward pass at batch size ${tape.b} has overwritten the activations of this one; run forward again`);
    }
    return ws;
  }

  async forward(step: Step, X: Matrix): Promise<Tape> {
    this.checkInput(X);
    const ws = this.workspace(X.rows);
    ws.generation = ++this.generations;
    let a = X;
    for (const [i, layer] of this.layers.entries()) {
      ws.inputs[i] = a;
      let out: Matrix;
      if (!isParamLayer(layer)) {
        if (layer.alias) out = new Matrix(a.buffer, a.rows, shapeSize(layer.outShape), a.offset);
        else {
          out = ws.y[i]!;
          await layer.forward(step, a, out);
        }
      } else {
        out = ws.y[i]!;
        await layer.forward(step, a, ws.pre[i]!, out, this.view(i, this.params));
      }
      ws.outputs[i] = out;
      a = out;
    }
    return { b: X.rows, X, output: a, generation: ws.generation };
  }

  async backward(step: Step, tape: Tape, seed: Matrix, options: BackwardOptions = {}): Promise<void> {
    const ws = this.fresh(tape);
    const paramGrads = options.paramGrads ?? true;
    const into = options.into ?? this.grads;
    if (into.size < this.layout.size * 4) throw new RangeError(`backward: "${into.label}" holds ${into.size / 4} values, the parameters ${this.layout.size}`);
    if (seed.rows !== tape.b || seed.cols !== this.outputs) throw new RangeError(`backward: seed must be ${tape.b}×${this.outputs}, got ${seed.rows}×${seed.cols}`);
    const inputGrad = options.inputGrad;
    if (inputGrad && (inputGrad.rows !== tape.b || inputGrad.cols !== this.inputSize)) {
      throw new RangeError(`backward: inputGrad must be ${tape.b}×${this.inputSize}, got ${inputGrad.rows}×${inputGrad.cols}`);
    }
    let dy = seed;
    let site = this.sites.length;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const layer = this.layers[i];
      const dx = i > 0 ? this.dyOf(ws, i - 1) : (inputGrad ?? null);
      if (!isParamLayer(layer)) {
        if (!dx) break;
        if (layer.alias) {
          if (i === 0) step.copy(dy.buffer, dx.buffer, dy.length * 4, dy.offset, dx.offset);
        } else await layer.backward(step, ws.outputs[i], dy, dx);
        dy = dx;
        continue;
      }
      site--;
      const delta = await this.sensitivity(step, ws, i, layer, dy);
      options.onSite?.({ site, x: ws.inputs[i], delta });
      const g = paramGrads && !this.tensors[i]!.weight.frozen ? this.view(i, into) : null;
      await layer.backward(step, ws.inputs[i], delta, g, dx, this.view(i, this.params), ws.ones);
      if (!dx) break;
      dy = dx;
    }
    ws.backwardSeed = seed;
    ws.backwardGeneration = tape.generation;
  }

  /** δ = dy ⊙ act′: ReLU's mask from the layer's output into the δ buffer; dy itself for the identity. */
  private async sensitivity(step: Step, ws: Workspace, i: number, layer: ParamLayer, dy: Matrix): Promise<Matrix> {
    if (layer.activation === 'identity') return dy;
    await activationBackward(step, dy, ws.outputs[i], ws.delta[i]!, 'relu');
    return ws.delta[i]!;
  }

  /** dy_i as a matrix of layer i's output shape (a flatten shares its input's buffer). */
  private dyOf(ws: Workspace, i: number): Matrix {
    const layer = this.layers[i];
    if (!isParamLayer(layer) && layer.alias) {
      const below = i > 0 ? this.dyOf(ws, i - 1) : null;
      if (below) return new Matrix(below.buffer, below.rows, shapeSize(layer.outShape), below.offset);
      // A flatten first: its dy is its own buffer (copied out to inputGrad).
      ws.dy[i] ??= this.gpu.matrix(`dy ${i} (batch ${ws.b})`, ws.b, shapeSize(layer.outShape), undefined, 'use a smaller batch');
    }
    return ws.dy[i]!;
  }

  async jvp(step: Step, tape: Tape, tangent: GPUBuffer, out: Matrix): Promise<void> {
    const ws = this.fresh(tape);
    const b = tape.b;
    if (out.rows !== b || out.cols !== this.outputs) throw new RangeError(`jvp: out must be ${b}×${this.outputs}, got ${out.rows}×${out.cols}`);
    if (tangent.size < this.layout.size * 4) throw new RangeError(`jvp: "${tangent.label}" holds ${tangent.size / 4} values, the parameters ${this.layout.size}`);
    const tw = this.tangentWorkspace(b);
    // ẏ of the previous layer, or null while it is zero (the input, and everything below trainable layers).
    let prev: Matrix | null = null;
    for (const [i, layer] of this.layers.entries()) {
      const last = i === this.layers.length - 1;
      tw.inTangent[i] = prev;
      if (!isParamLayer(layer)) {
        if (!prev) {
          if (last) await linearCombination(step, 0, ws.outputs[i], 0, ws.outputs[i], out);
          continue;
        }
        if (layer.alias) {
          prev = new Matrix(prev.buffer, prev.rows, shapeSize(layer.outShape), prev.offset);
          if (last) step.copy(prev.buffer, out.buffer, prev.length * 4, prev.offset, out.offset);
          continue;
        }
        const dest = last ? out : tw.ydot[i]!;
        await layer.tangent(step, ws.outputs[i], prev, dest);
        prev = dest;
        continue;
      }
      const u = this.tensors[i]!.weight.frozen ? null : this.view(i, tangent);
      const relu = layer.activation === 'relu';
      const hdot = last && !relu ? out : tw.hdot[i]!;
      const nonzero = await layer.tangent(step, ws.inputs[i], prev, u, hdot, this.view(i, this.params), this.scratch(b, i, ws));
      if (!nonzero) {
        if (last) await linearCombination(step, 0, ws.outputs[i], 0, ws.outputs[i], out);
        prev = null;
        continue;
      }
      if (relu) {
        const dest = last ? out : tw.ydot[i]!;
        await activationBackward(step, hdot, ws.outputs[i], dest, 'relu');
        prev = dest;
      } else prev = hdot;
    }
    tw.tangentOf = tangent;
    tw.tangentGeneration = tape.generation;
  }

  async hessianVectorBackward(step: Step, tape: Tape, seed: Matrix, tangent: GPUBuffer, seedDot: Matrix, into: GPUBuffer): Promise<void> {
    const ws = this.fresh(tape);
    const tw = this.tangentWorkspace(tape.b);
    if (ws.backwardSeed !== seed || ws.backwardGeneration !== tape.generation) throw new Error('Hessian-vector product: record backward(tape, seed) with the loss seed first, on this tape');
    if (tw.tangentOf !== tangent || tw.tangentGeneration !== tape.generation) throw new Error('Hessian-vector product: record jvp(tape, u) with the same tangent first, on this tape');
    let rDy = seedDot;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const layer = this.layers[i];
      if (!isParamLayer(layer)) {
        if (i === 0) break;
        const rdx = this.rDyOf(tw, ws, i - 1);
        // A parameter-free layer is linear in x (or a ReLU with its mask held fixed): its R-operator is its backward.
        if (!layer.alias) await layer.backward(step, ws.outputs[i], rDy, rdx);
        rDy = layer.alias ? new Matrix(rDy.buffer, rDy.rows, shapeSize(layer.inShape), rDy.offset) : rdx;
        continue;
      }
      const relu = layer.activation === 'relu';
      let rDelta = rDy;
      if (relu) {
        await activationBackward(step, rDy, ws.outputs[i], tw.rDelta[i]!, 'relu');
        rDelta = tw.rDelta[i]!;
      }
      const delta = relu ? ws.delta[i]! : i === this.layers.length - 1 ? seed : this.dyOf(ws, i);
      const frozen = this.tensors[i]!.weight.frozen;
      const rdx = await layer.rBackward(step, ws.inputs[i], tw.inTangent[i], delta, rDelta, frozen ? null : this.view(i, tangent), frozen ? null : this.view(i, into), i > 0, this.view(i, this.params), this.scratch(tape.b, i, ws));
      if (!rdx) break;
      rDy = rdx;
    }
  }

  /** Where R{dy_i} goes for a parameter-free layer above it (a buffer of layer i's output shape). */
  private rDyOf(tw: TangentWorkspace, ws: Workspace, i: number): Matrix {
    tw.rDy[i] ??= this.gpu.matrix(`R{dy} ${i} (batch ${ws.b})`, ws.b, shapeSize(this.layers[i].outShape), undefined, 'use a smaller batch');
    return tw.rDy[i]!;
  }

  async readParams(): Promise<Float32Array> {
    return this.gpu.read(this.params);
  }

  async readGrads(): Promise<Float32Array> {
    return this.gpu.read(this.grads);
  }

  private workspace(b: number): Workspace {
    let ws = this.workspaces.get(b);
    if (ws) return ws;
    if (b > this.microBatch) {
      throw new BufferLimitError(`activations of a batch of ${b}`, 'maxStorageBufferBindingSize', b * 4 * Math.floor(this.gpu.limits.maxStorageBufferBindingSize / (4 * this.microBatch)), this.gpu.limits.maxStorageBufferBindingSize, `use batches of at most ${this.microBatch} examples (micro-batches)`);
    }
    const shrink = 'use a smaller batch or narrower layers';
    const m = (label: string, cols: number) => this.gpu.matrix(`${label} (batch ${b})`, b, cols, undefined, shrink);
    const last = this.layers.length - 1;
    ws = {
      b,
      generation: 0,
      y: this.layers.map((l, i) => (!isParamLayer(l) && l.alias ? null : m(`output ${i}`, shapeSize(l.outShape)))),
      pre: this.layers.map((l, i) => (isParamLayer(l) ? m(`pre-activation ${i}`, shapeSize(l.outShape)) : null)),
      delta: this.layers.map((l, i) => (isParamLayer(l) && l.activation === 'relu' ? m(`delta ${i}`, shapeSize(l.outShape)) : null)),
      dy: this.layers.map((l, i) => (i === last || (!isParamLayer(l) && l.alias) ? null : m(`dy ${i}`, shapeSize(l.outShape)))),
      ones: this.gpu.matrix(`ones (batch ${b})`, 1, b, new Float32Array(b).fill(1), shrink),
      inputs: [],
      outputs: [],
      backwardSeed: null,
      backwardGeneration: -1,
    };
    this.workspaces.set(b, ws);
    return ws;
  }

  private tangentWorkspace(b: number): TangentWorkspace {
    let tw = this.tangentWorkspaces.get(b);
    if (tw) return tw;
    const shrink = 'use a smaller batch or narrower layers';
    const m = (label: string, cols: number) => this.gpu.matrix(`${label} (batch ${b})`, b, cols, undefined, shrink);
    tw = {
      hdot: this.layers.map((l, i) => (isParamLayer(l) ? m(`tangent pre-activation ${i}`, shapeSize(l.outShape)) : null)),
      ydot: this.layers.map((l, i) => (!isParamLayer(l) && l.alias ? null : m(`tangent ${i}`, shapeSize(l.outShape)))),
      rDelta: this.layers.map((l, i) => (isParamLayer(l) && l.activation === 'relu' ? m(`R{delta} ${i}`, shapeSize(l.outShape)) : null)),
      rDy: this.layers.map(() => null),
      scratch: this.layers.map(() => null),
      inTangent: [],
      tangentOf: null,
      tangentGeneration: -1,
    };
    this.tangentWorkspaces.set(b, tw);
    return tw;
  }

  /** Temporaries of parametrized layer i at batch size b, made on first use (tangent and R-operator passes). */
  private scratch(b: number, i: number, ws: Workspace): LayerScratch {
    const tw = this.tangentWorkspace(b);
    const have = tw.scratch[i];
    if (have) return have;
    const layer = this.layers[i] as ParamLayer;
    const shrink = 'use a smaller batch or narrower layers';
    const out = shapeSize(layer.outShape);
    const inSize = shapeSize(layer.inShape);
    const w = this.tensors[i]!.weight;
    const m = (label: string, rows: number, cols: number) => this.gpu.matrix(`${label} ${i} (batch ${b})`, rows, cols, undefined, shrink);
    const s: LayerScratch = {
      outA: m('tangent from weights', b, out),
      outB: m('tangent from inputs', b, out),
      outC: m('tangent sum', b, out),
      inA: i > 0 ? m('R{dx} term A', b, inSize) : null,
      inB: i > 0 ? m('R{dx} term B', b, inSize) : null,
      inC: i > 0 ? m('R{dx}', b, inSize) : null,
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
    for (const ws of this.workspaces.values()) for (const m of [...ws.y, ...ws.pre, ...ws.delta, ...ws.dy, ws.ones]) m?.buffer.destroy();
    this.workspaces.clear();
    for (const tw of this.tangentWorkspaces.values()) {
      for (const m of [...tw.hdot, ...tw.ydot, ...tw.rDelta, ...tw.rDy]) m?.buffer.destroy();
      for (const s of tw.scratch) for (const m of s ? [s.outA, s.outB, s.outC, s.inA, s.inB, s.inC, s.weightA, s.weightB] : []) m?.buffer.destroy();
    }
    this.tangentWorkspaces.clear();
  }
}
