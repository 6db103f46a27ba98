// Elementwise bias and activation for a row-major rows×cols batch (one row per example), and its derivative.
//   forward:  Y[r, c] = act(scale·X[r, c] + biasScale·bias[⌊c / spatial⌋])   (the NTK layer's c and β; 1 by
//             default). spatial = 1 for dense layers; a convolution's rows are NCHW, channels × spatial
//             positions, and each channel's bias covers its `spatial` positions.
//   backward: dX[r, c] = dY[r, c] · act'(Y[r, c])
// The derivative reads the activation's output Y: for ReLU, 1[z > 0] = 1[y > 0], so the pre-activation
// need not be kept.
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { FLAT_WORKGROUP_INDEX, ceilDiv, f32Bits, flatGrid, memoByKey, type KernelDef } from '../src/gpu/kernel.ts';

export type Activation = 'relu' | 'identity';
export const ACTIVATIONS: readonly Activation[] = ['relu', 'identity'];

export interface ElementwiseShape {
  rows: number;
  cols: number;
  scale?: number;
  biasScale?: number;
  /** Values per bias entry along a row (NCHW: H·W); 1 by default. */
  spatial?: number;
}

const WG = 256;

const uniforms = (s: ElementwiseShape) => Uint32Array.of(s.rows * s.cols, s.cols, f32Bits(s.scale ?? 1), f32Bits(s.biasScale ?? 1), s.spatial ?? 1, 0, 0, 0);
const grid = (s: ElementwiseShape) => flatGrid(ceilDiv(s.rows * s.cols, WG));

function checkActivation(act: string): asserts act is Activation {
  if (!ACTIVATIONS.includes(act as Activation)) {
    throw new RangeError(`activation must be one of ${ACTIVATIONS.join(', ')}; got "${act}"`);
  }
}

export interface BiasActOptions {
  act: Activation;
  /** Without a bias the kernel takes no bias buffer. */
  bias: boolean;
}

export const biasAct = memoByKey(
  (o: BiasActOptions) => `bias-act:${o.act}:${o.bias ? 'b' : 'nb'}`,
  (o, key): KernelDef<ElementwiseShape> => {
    checkActivation(o.act);
    const source = wgsl`
struct Params { count: u32, cols: u32, scale: f32, biasScale: f32, spatial: u32, pad0: u32, pad1: u32, pad2: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
#if ${o.bias}
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
#else
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
#endif

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let e = ${FLAT_WORKGROUP_INDEX} * ${WG}u + tid;
  if (e >= p.count) { return; }
#if ${o.bias}
  let z = p.scale * x[e] + p.biasScale * bias[(e % p.cols) / p.spatial];
#else
  let z = p.scale * x[e];
#endif
#if ${o.act === 'relu'}
  y[e] = max(z, 0.0);
#else
  y[e] = z;
#endif
}
`;
    return {
      name: `bias+${o.act}${o.bias ? '' : ' (no bias)'}`,
      key,
      source,
      workgroupSize: [WG, 1, 1],
      bindings: o.bias ? ['read', 'read', 'write', 'uniform'] : ['read', 'write', 'uniform'],
      grid,
      uniforms,
    };
  },
);

export const actBackward = memoByKey(
  (act: Activation) => `act-backward:${act}`,
  (act, key): KernelDef<ElementwiseShape> => {
    checkActivation(act);
    const source = wgsl`
struct Params { count: u32, cols: u32, unused0: f32, unused1: f32, unused2: u32, pad0: u32, pad1: u32, pad2: u32 }

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let e = ${FLAT_WORKGROUP_INDEX} * ${WG}u + tid;
  if (e >= p.count) { return; }
#if ${act === 'relu'}
  dx[e] = select(0.0, dy[e], y[e] > 0.0);
#else
  dx[e] = dy[e];
#endif
}
`;
    return {
      name: `${act} backward`,
      key,
      source,
      workgroupSize: [WG, 1, 1],
      bindings: ['read', 'read', 'write', 'uniform'],
      grid,
      uniforms,
    };
  },
);
