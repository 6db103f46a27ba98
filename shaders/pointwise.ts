// Elementwise nonlinearities that imported models bring (ONNX's Sigmoid, Tanh, and GELU in its exact erf form,
// PyTorch's nn.GELU() default):
//   pointwise(f):           y = f(x)
//   pointwiseLinearized(f): out = g ⊙ f′(x)
// Their derivative is diagonal, so one kernel serves the backward pass (g = dy) and the forward-mode product
// (g = ẋ); it reads the layer's input. One invocation per value.
//
// WGSL has no erf. erf(z) is summed from its Maclaurin series for |z| < 0.5 (seven terms: the next is below
// 2⁻²⁸ of the sum there) and taken as 1 − erfc(z) above, with erfc from the Chebyshev fit of Numerical
// Recipes (§6.2, fractional error below 1.2e-7 for every z ≥ 0). The split keeps the relative error near
// float32's rounding on both sides: 1 − erfc loses digits near 0, where the series needs none. The float64
// reference (src/ref/pointwise.ts) and the kernel checks hold it to that.
import { FLAT_WORKGROUP_INDEX, ceilDiv, flatGrid, memoByKey, type KernelDef } from '../src/gpu/kernel.ts';

export const POINTWISE_FUNCTIONS = ['sigmoid', 'tanh', 'gelu-erf'] as const;
export type PointwiseFunction = (typeof POINTWISE_FUNCTIONS)[number];

const WG = 256;

const LIBRARY = /* wgsl */ `
// tanh through exp of a non-positive argument (no overflow for large |u|), and by its series below 0.25,
// where (1 − t)/(1 + t) would cancel.
fn tanhSafe(u: f32) -> f32 {
  if (abs(u) < 0.25) {
    let q = u * u;
    return u * (1.0 + q * (-1.0 / 3.0 + q * (2.0 / 15.0 + q * (-17.0 / 315.0 + q * (62.0 / 2835.0 + q * (-1382.0 / 155925.0))))));
  }
  let t = exp(-2.0 * abs(u));
  return sign(u) * (1.0 - t) / (1.0 + t);
}
fn sigmoidSafe(u: f32) -> f32 {
  let t = exp(-abs(u));
  return select(t / (1.0 + t), 1.0 / (1.0 + t), u >= 0.0);
}
fn erfApprox(z: f32) -> f32 {
  let a = abs(z);
  if (a < 0.5) {
    let q = z * z;
    // 2/sqrt(pi) * (z - z^3/3 + z^5/10 - z^7/42 + z^9/216 - z^11/1320 + z^13/9360)
    let s = 1.0 + q * (-1.0 / 3.0 + q * (1.0 / 10.0 + q * (-1.0 / 42.0 + q * (1.0 / 216.0 + q * (-1.0 / 1320.0 + q * (1.0 / 9360.0))))));
    return 1.1283791670955126 * z * s;
  }
  let t = 1.0 / (1.0 + 0.5 * a);
  let poly = -a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return sign(z) * (1.0 - t * exp(poly));
}
const SQRT1_2 = 0.7071067811865476;
const INV_SQRT_2PI = 0.3989422804014327;`;

const VALUE: Record<PointwiseFunction, string> = {
  sigmoid: 'sigmoidSafe(v)',
  tanh: 'tanhSafe(v)',
  'gelu-erf': '0.5 * v * (1.0 + erfApprox(v * SQRT1_2))',
};

const SLOPE: Record<PointwiseFunction, string> = {
  sigmoid: 'sigmoidSafe(v) * (1.0 - sigmoidSafe(v))',
  tanh: '1.0 - tanhSafe(v) * tanhSafe(v)',
  // Φ(v) + v·φ(v)
  'gelu-erf': '0.5 * (1.0 + erfApprox(v * SQRT1_2)) + v * INV_SQRT_2PI * exp(-0.5 * v * v)',
};

const kernel = (name: string, key: string, bindings: string, body: string, kinds: KernelDef<{ count: number }>['bindings']): KernelDef<{ count: number }> => ({
  name,
  key,
  source: /* wgsl */ `
struct Params { count: u32, pad0: u32, pad1: u32, pad2: u32 }
${bindings}
${LIBRARY}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let e = ${FLAT_WORKGROUP_INDEX} * ${WG}u + tid;
  if (e >= p.count) { return; }
  let v = x[e];
  ${body}
}
`,
  workgroupSize: [WG, 1, 1],
  bindings: kinds,
  grid: (s) => flatGrid(ceilDiv(s.count, WG)),
  uniforms: (s) => Uint32Array.of(s.count, 0, 0, 0),
});

/** y = f(x). */
export const pointwise = memoByKey(
  (f: PointwiseFunction) => `pointwise-${f}`,
  (f, key) =>
    kernel(
      f,
      key,
      `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;`,
      `y[e] = ${VALUE[f]};`,
      ['read', 'write', 'uniform'],
    ),
);

/** out = g ⊙ f′(x). */
export const pointwiseLinearized = memoByKey(
  (f: PointwiseFunction) => `pointwise-linearized-${f}`,
  (f, key) =>
    kernel(
      `${f} derivative`,
      key,
      `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;`,
      `out[e] = g[e] * (${SLOPE[f]});`,
      ['read', 'read', 'write', 'uniform'],
    ),
);
