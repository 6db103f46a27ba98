// The kinds of layer a network is a graph of, as contracts the graph runtime (graph.ts) drives. Each layer kind
// is one file in src/nn/layers/ with hand-written derivatives; the runtime owns the buffers.
//
// A parametrized layer (linear, conv2d, layer norm's affine part, position embeddings) computes
// pre = c·op(x; W) + β·b and y = act(pre), act ∈ {relu, identity} fused into its bias pass. The runtime applies
// the activation's derivative (ReLU's mask, read from y) and hands the layer δ = ∂/∂pre, so every derivative
// below is of the affine part, bilinear in (x, W) (a position embedding, x + c·P, is affine in x instead):
//   backward: ∇W = c·(∂op/∂W)ᵀ δ,  ∇b = β·Σ δ,  dx = c·(∂op/∂x)ᵀ δ;
//   tangent:  ḣ = c·(op(x; U) + op(ẋ; W)) + β·u_b;
//   R-operator of backward (for Hessian-vector products): R{∇W} = c·(op_Wᵀ R{δ} on x + op_Wᵀ δ on ẋ),
//             R{∇b} = β·Σ R{δ},  R{dx} = c·(op_xᵀ R{δ} with W + op_xᵀ δ with U).
// A parameter-free layer is linear in x (pooling, flatten), a ReLU (its tangent is the mask), or nonlinear
// (GELU, layer norm, attention: their backward and tangent read the input, and they have no R-operator).
// The residual join (Add) is the runtime's own: it adds two nodes.
import type { Matrix } from '../gpu/matrix.ts';
import { linearCombination } from '../kernels/ops.ts';
import type { Step } from '../gpu/step.ts';
import type { Shape } from './shape.ts';
import type { ParamSpec } from './params.ts';

export type Activation = 'relu' | 'identity';

/** One layer's tensors as matrices in some parameter-shaped buffer (weights as out × everything else). */
export interface LayerTensors {
  weight: Matrix;
  bias: Matrix | null;
}

/** Batch-sized temporaries a parametrized layer's tangent and R-operator may use (the runtime allocates them). */
export interface LayerScratch {
  /** b×outSize, three times. */
  outA: Matrix;
  outB: Matrix;
  outC: Matrix;
  /** b×inSize, three times (null for the first layer, which has no dx). */
  inA: Matrix | null;
  inB: Matrix | null;
  inC: Matrix | null;
  /** weight-shaped, twice. */
  weightA: Matrix;
  weightB: Matrix;
  /** 1×b of ones (bias sums). */
  ones: Matrix;
}

export interface ParamLayer {
  readonly kind: (typeof PARAM_LAYER_KINDS)[number];
  readonly name: string;
  readonly inShape: Shape;
  readonly outShape: Shape;
  /** Weight, then bias when the layer has one. */
  readonly params: readonly ParamSpec[];
  readonly activation: Activation;
  /** Whether the structured NTK term (ΔΔᵀ) ⊙ (c²AAᵀ + β²) holds (dense layers). */
  readonly structured: boolean;
  /** pre = c·op(x; W), then y = act(pre + β·b). */
  forward(s: Step, x: Matrix, pre: Matrix, y: Matrix, p: LayerTensors): Promise<void>;
  /** ∇W, ∇b into g (when given; frozen layers get none) and dx (when given) from δ = ∂/∂pre; `ones` is 1×b. */
  backward(s: Step, x: Matrix, delta: Matrix, g: LayerTensors | null, dx: Matrix | null, p: LayerTensors, ones: Matrix): Promise<void>;
  /** ḣ into hdot from ẋ (null: zero) and the tangent's own tensors u (null: frozen); false when ḣ is zero. */
  tangent(s: Step, x: Matrix, xdot: Matrix | null, u: LayerTensors | null, hdot: Matrix, p: LayerTensors, t: LayerScratch): Promise<boolean>;
  /** Rows of the Jacobian for a run of output units (PyTorch's dim 0: neurons, channels) of this layer. */
  readonly ntk: {
    /** Output units, and J columns per unit (its weights; then one bias column each, after all the weights). */
    units: number;
    weightsPerUnit: number;
    /** c and β of pre = c·op(x; W) + β·b, for the structured term (dense layers). */
    c: number;
    beta: number;
    /**
     * J[r, …] for rows r of δ (r = a·n + i: output a of example i, x's row i) and units from..from+units−1:
     * their weights' columns, then their biases' (when the layer has a bias).
     */
    perExampleGrads(s: Step, io: { x: Matrix; delta: Matrix; n: number; from: number; units: number; J: Matrix }): Promise<void>;
  };
  /** The R-operator of backward: R{∇W}, R{∇b} into rg (when given) and R{dx} (returned, when wanted). */
  rBackward(s: Step, x: Matrix, xdot: Matrix | null, delta: Matrix, rDelta: Matrix, u: LayerTensors | null, rg: LayerTensors | null, wantDx: boolean, p: LayerTensors, t: LayerScratch): Promise<Matrix | null>;
}

/** Buffers of one batch size that a parameter-free layer declared (its `buffers`), by name. */
export type LayerBuffers = Readonly<Record<string, Matrix>>;

export interface FreeLayer {
  readonly kind: 'avgpool' | 'globalavgpool' | 'maxpool' | 'flatten' | 'relu' | 'gelu' | 'pointwise' | 'layernorm' | 'attention';
  readonly name: string;
  readonly inShape: Shape;
  readonly outShape: Shape;
  /** The output is the input itself, reinterpreted (flatten): no buffers, no work. */
  readonly alias: boolean;
  /**
   * Whether the layer is linear in its input once what it read in the forward pass is held fixed (pooling,
   * flatten, ReLU with its mask): then the R-operator of its backward pass is its backward pass. A nonlinear
   * layer (GELU, layer norm, attention) has no R-operator here, and a Hessian through it is refused by name.
   */
  readonly linear: boolean;
  /**
   * Floats per example of the batch-sized buffers the layer needs besides its input and output: what its
   * forward pass keeps for the derivatives (attention's probabilities) and temporaries. The runtime allocates
   * them per batch size and passes them by name.
   */
  readonly buffers?: Readonly<Record<string, number>>;
  forward(s: Step, x: Matrix, y: Matrix, buffers: LayerBuffers): Promise<void>;
  /** dx from dy (x and y are the layer's input and output of the forward pass). */
  backward(s: Step, y: Matrix, dy: Matrix, dx: Matrix, x: Matrix, buffers: LayerBuffers): Promise<void>;
  /** ẏ from ẋ. */
  tangent(s: Step, y: Matrix, xdot: Matrix, ydot: Matrix, x: Matrix, buffers: LayerBuffers): Promise<void>;
}

/**
 * y = a + b for two earlier nodes of one shape: the join of a residual block. The runtime records it (one
 * linear combination forward and in the tangent; in the backward pass both inputs receive dy as it is).
 */
export class Add {
  readonly kind = 'add';
  readonly outShape: Shape;

  constructor(
    readonly name: string,
    readonly inShape: Shape,
  ) {
    this.outShape = inShape;
  }
}

export type Layer = ParamLayer | FreeLayer | Add;

/** What a parametrized layer's options say of its tensors: the weight's scale and init, β (0: no bias) and its init. */
export interface ParamOptions {
  name: string;
  /** c, the weights' multiplier in the forward pass. */
  weightScale: number;
  /** β, or 0 for no bias. */
  biasScale: number;
  weightInit: ParamSpec['init'];
  biasInit: ParamSpec['init'];
  frozen: boolean;
}

/** A layer's tensors in PyTorch's order and names: `{name}.weight` of `weightShape`, then `{name}.bias` [out] where β > 0. */
export function weightAndBias(o: ParamOptions, weightShape: readonly number[]): ParamSpec[] {
  return [
    { name: `${o.name}.weight`, shape: weightShape, scale: o.weightScale, init: o.weightInit, frozen: o.frozen },
    ...(o.biasScale > 0 ? [{ name: `${o.name}.bias`, shape: [weightShape[0]], scale: o.biasScale, init: o.biasInit, frozen: o.frozen }] : []),
  ];
}

/**
 * The linear part of a bilinear layer's tangent, c·(op(x; U) + op(ẋ; W)), from its two terms (each written
 * by its function into the buffer given, null where the term is zero): one term as it is, both summed in
 * t.outC, or null when both are zero. The layer adds its bias tangent after.
 */
export async function tangentTerms(s: Step, t: LayerScratch, fromWeights: ((out: Matrix) => Promise<unknown>) | null, fromInput: ((out: Matrix) => Promise<unknown>) | null): Promise<Matrix | null> {
  if (fromWeights) await fromWeights(t.outA);
  if (fromInput) await fromInput(t.outB);
  if (fromWeights && fromInput) {
    await linearCombination(s, 1, t.outA, 1, t.outB, t.outC);
    return t.outC;
  }
  return fromWeights ? t.outA : fromInput ? t.outB : null;
}

export const PARAM_LAYER_KINDS = ['linear', 'conv2d', 'affine', 'posembed'] as const;
export const isParamLayer = (l: Layer): l is ParamLayer => (PARAM_LAYER_KINDS as readonly string[]).includes(l.kind);
