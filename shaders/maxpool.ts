// Max pooling in NCHW over k×k windows with stride s and padding p on every side (torch.nn.MaxPool2d(k, s, p),
// dilation 1, floor mode: H' = ⌊(H + 2p − k)/s⌋ + 1), and its derivatives through the argmax it records:
//   maxPool:          y[n, c, i, j] = max over the window's real inputs (the padding is −∞); arg[n, c, i, j] =
//                     the input's index r·W + q inside its plane, the first maximum in row-major order
//                     (PyTorch's choice on ties), kept as a float (exact: planes hold fewer than 2²⁴ values)
//   maxPoolBackward:  dx[n, c, r, q] = Σ over the windows that contain (r, q) and chose it of dy: one invocation
//                     per input value gathers from at most ⌈k/s⌉² windows in a fixed order, so overlapping
//                     windows need no atomics and the sum has the same bits every run
//   maxPoolTangent:   ẏ[n, c, i, j] = ẋ[n, c, arg[n, c, i, j]]
// With the argmax held fixed the map is linear in x, so the backward pass is also the R-operator the
// Hessian-vector product needs (as ReLU's mask is).
import { FLAT_WORKGROUP_INDEX, ceilDiv, flatGrid, type KernelDef } from '../src/gpu/kernel.ts';

const WG = 256;

export interface MaxPoolShape {
  /** Examples, channels, the input's height and width. */
  b: number;
  c: number;
  h: number;
  w: number;
  /** Window side, stride and padding. */
  k: number;
  stride: number;
  pad: number;
}

export const maxPoolOutput = (s: Pick<MaxPoolShape, 'h' | 'w' | 'k' | 'stride' | 'pad'>): [number, number] => [Math.floor((s.h + 2 * s.pad - s.k) / s.stride) + 1, Math.floor((s.w + 2 * s.pad - s.k) / s.stride) + 1];

const PARAMS = /* wgsl */ `struct Params { b: u32, c: u32, h: u32, w: u32, k: u32, stride: u32, pad: u32, ho: u32, wo: u32, pad0: u32, pad1: u32, pad2: u32 }`;

const uniforms = (s: MaxPoolShape) => {
  const [ho, wo] = maxPoolOutput(s);
  return Uint32Array.of(s.b, s.c, s.h, s.w, s.k, s.stride, s.pad, ho, wo, 0, 0, 0);
};
const outputs = (s: MaxPoolShape) => s.b * s.c * maxPoolOutput(s)[0] * maxPoolOutput(s)[1];

const kernel = (name: string, key: string, bindings: string, kinds: KernelDef<MaxPoolShape>['bindings'], body: string, count: (s: MaxPoolShape) => number): KernelDef<MaxPoolShape> => ({
  name,
  key,
  source: /* wgsl */ `
${PARAMS}
${bindings}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let e = ${FLAT_WORKGROUP_INDEX} * ${WG}u + tid;
${body}
}
`,
  workgroupSize: [WG, 1, 1],
  bindings: kinds,
  grid: (s) => flatGrid(ceilDiv(count(s), WG)),
  uniforms,
});

export const maxPool = kernel(
  'max pool',
  'max-pool',
  `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> arg: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;`,
  ['read', 'write', 'write', 'uniform'],
  /* wgsl */ `  if (e >= p.b * p.c * p.ho * p.wo) { return; }
  let j = e % p.wo;
  let i = (e / p.wo) % p.ho;
  let plane = e / (p.wo * p.ho);
  let r0 = i32(i * p.stride) - i32(p.pad);
  let q0 = i32(j * p.stride) - i32(p.pad);
  var best = 0.0;
  var at = -1;
  for (var u = 0; u < i32(p.k); u++) {
    let r = r0 + u;
    if (r < 0 || r >= i32(p.h)) { continue; }
    for (var v = 0; v < i32(p.k); v++) {
      let q = q0 + v;
      if (q < 0 || q >= i32(p.w)) { continue; }
      let value = x[plane * p.h * p.w + u32(r) * p.w + u32(q)];
      if (at < 0 || value > best) {
        best = value;
        at = r * i32(p.w) + q;
      }
    }
  }
  y[e] = best;
  arg[e] = f32(at);`,
  outputs,
);

export const maxPoolBackward = kernel(
  'max pool backward',
  'max-pool-backward',
  `@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> arg: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;`,
  ['read', 'read', 'write', 'uniform'],
  /* wgsl */ `  if (e >= p.b * p.c * p.h * p.w) { return; }
  let q = i32(e % p.w);
  let r = i32((e / p.w) % p.h);
  let plane = e / (p.w * p.h);
  let me = f32(r * i32(p.w) + q);
  // The windows i whose rows i·s − p .. i·s − p + k − 1 contain r (likewise j and q).
  let s = i32(p.stride);
  let iLo = max(0, (r + i32(p.pad) - i32(p.k) + s) / s);
  let iHi = min(i32(p.ho) - 1, (r + i32(p.pad)) / s);
  let jLo = max(0, (q + i32(p.pad) - i32(p.k) + s) / s);
  let jHi = min(i32(p.wo) - 1, (q + i32(p.pad)) / s);
  var acc = 0.0;
  for (var i = iLo; i <= iHi; i++) {
    for (var j = jLo; j <= jHi; j++) {
      let o = (plane * p.ho + u32(i)) * p.wo + u32(j);
      if (arg[o] == me) { acc += dy[o]; }
    }
  }
  dx[e] = acc;`,
  (s) => s.b * s.c * s.h * s.w,
);

export const maxPoolTangent = kernel(
  'max pool tangent',
  'max-pool-tangent',
  `@group(0) @binding(0) var<storage, read> xdot: array<f32>;
@group(0) @binding(1) var<storage, read> arg: array<f32>;
@group(0) @binding(2) var<storage, read_write> ydot: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;`,
  ['read', 'read', 'write', 'uniform'],
  /* wgsl */ `  if (e >= p.b * p.c * p.ho * p.wo) { return; }
  let plane = e / (p.wo * p.ho);
  ydot[e] = xdot[plane * p.h * p.w + u32(arg[e])];`,
  outputs,
);
