// What the NTK, the spectra, the Hessian, the AGOP, the tracker and the trainer see of a network: one
// interface, with an explicit record of each forward pass (a Tape) instead of "the last pass at batch size b".
//
// Layout: a batch of b examples of shape [c, h, w] is a row-major Matrix of b rows and c·h·w columns in PyTorch's
// NCHW order (channel-major within a row), so a flatten is free and a checkpoint's flattening matches
// torch.flatten; a fully connected layer's features are the shape [d, 1, 1].
import type { Gpu } from '../gpu/gpu.ts';
import type { Matrix } from '../gpu/matrix.ts';
import type { Step } from '../gpu/step.ts';
import type { ParamLayer } from './layer.ts';
import type { ParamLayout, ParamTensor } from './params.ts';
import type { Shape } from './shape.ts';

export { sameShape, shapeSize, shapeText, type Shape } from './shape.ts';

/**
 * One forward pass of b examples, whose activations live in one of the network's workspaces (by batch size and
 * name) until the next forward pass into that workspace. Using it after that throws "stale tape" instead of
 * reading other activations.
 */
export interface Tape {
  readonly b: number;
  /** The workspace its activations live in. */
  readonly workspace: string;
  readonly X: Matrix;
  /** The b×k outputs. */
  readonly output: Matrix;
  readonly generation: number;
}

/**
 * A backward pass of a tape with its output seed: the sensitivities it leaves in the tape's workspace, which
 * the Hessian's R-operator reads. A later backward pass into that workspace makes it stale.
 */
export interface BackwardPass {
  readonly tape: Tape;
  readonly seed: Matrix;
  /** Which backward pass of its workspace it was. */
  readonly count: number;
}

/** A forward-mode pass of a tape along a parameter tangent u: each layer's input tangent, which the R-operator reads. */
export interface TangentPass {
  readonly tape: Tape;
  readonly tangent: GPUBuffer;
  /** Which tangent pass of its workspace it was. */
  readonly count: number;
}

/**
 * A parametrized layer as the NTK sees it during a backward pass: its input and its sensitivity δ (the
 * gradient of the seeded output with respect to its pre-activation), from which its block of J is formed.
 */
export interface NtkSite {
  /** Index among the network's parametrized layers. */
  readonly site: number;
  readonly x: Matrix;
  readonly delta: Matrix;
}

/** Per parametrized layer: what the NTK methods may ask of it. */
export interface SiteInfo {
  readonly name: string;
  readonly kind: string;
  readonly weight: ParamTensor;
  readonly bias: ParamTensor | null;
  /** Floats per example of the layer's input and of its output (and δ). */
  readonly inSize: number;
  readonly outSize: number;
  /** Whether the structured term (ΔΔᵀ) ⊙ (c²AAᵀ + β²) holds: dense layers. */
  readonly structured: boolean;
  readonly frozen: boolean;
  /** The layer, for its NTK operations (per-example gradients, scales). */
  readonly layer: ParamLayer;
}

export interface ForwardOptions {
  /**
   * A named workspace for the activations, apart from the one of unnamed passes at this batch size: a pass that
   * must not overwrite another's tape (the Hessian's, a matrix-free product's, the tracked set's) names its own.
   */
  workspace?: string;
}

export interface BackwardOptions {
  /** A parameter-shaped buffer for the gradients (the network's own by default). */
  into?: GPUBuffer;
  /** false: only the sensitivities (and inputGrad); the gradient buffer is left alone. */
  paramGrads?: boolean;
  /** ∂(Σ S ⊙ f)/∂X into this b×inputSize matrix. */
  inputGrad?: Matrix;
  /** Called, while the pass is recorded, with each parametrized layer's input and δ as soon as δ exists. */
  onSite?(site: NtkSite): void;
}

export interface Network {
  readonly gpu: Gpu;
  readonly inputShape: Shape;
  /** Columns of an input batch: the product of inputShape. */
  readonly inputSize: number;
  readonly outputs: number;
  readonly layout: ParamLayout;
  readonly params: GPUBuffer;
  readonly grads: GPUBuffer;
  /** The parametrized layers, in order. */
  readonly sites: readonly SiteInfo[];
  /** The largest batch one pass takes with every buffer within the device's binding limit. */
  readonly microBatch: number;
  /** Why Hessian-vector products are not available (the first layer without an R-operator), or null. */
  readonly hessianUnsupported: string | null;

  forward(step: Step, X: Matrix, options?: ForwardOptions): Promise<Tape>;
  /** Whether the tape's activations are still there: no later forward pass into its workspace overwrote them. */
  isCurrent(tape: Tape): boolean;
  /** ∂(Σ S ⊙ f)/∂θ (and ∂/∂X) for the tape's batch and an output seed S (b×k). */
  backward(step: Step, tape: Tape, seed: Matrix, options?: BackwardOptions): Promise<BackwardPass>;
  /** J u = Σ_θ (∂f/∂θ) u_θ for the tape's batch and a parameter-shaped tangent u, into out (b×k). */
  jvp(step: Step, tape: Tape, tangent: GPUBuffer, out: Matrix): Promise<TangentPass>;
  /**
   * The Hessian-vector product H u of a loss, from the backward pass of its output seed and the tangent pass
   * along u of the same tape, with the seed's tangent `seedDot` (for MSE: (2/b)·J u), by the R-operator of
   * the backward pass. Throws, naming the layer, where a layer has no R-operator.
   */
  hessianVectorBackward(step: Step, backward: BackwardPass, along: TangentPass, seedDot: Matrix, into: GPUBuffer): Promise<void>;
  /** A parameter-shaped buffer as a size×1 matrix. */
  paramVector(buffer?: GPUBuffer): Matrix;
  readParams(): Promise<Float32Array>;
  readGrads(): Promise<Float32Array>;
  destroy(): void;
}
