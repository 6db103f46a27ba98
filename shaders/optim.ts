// Optimizer updates, elementwise over one parameter tensor and its gradient, with PyTorch's rules
// (torch.optim, single-tensor algorithms). The kind and its flags are compile-time; every hyperparameter
// and the step-dependent factors (the scheduled rate, bias corrections, "first step") are uniforms; the
// rate is also scaled by rate[0] from a buffer, where a live schedule writes it on the GPU.
//   sgd:      g += λθ; b = first ? g : μb + (1−τ)g; g = nesterov ? g + μb : b (μ > 0); θ −= lr·g
//   rmsprop:  g += λθ; v = αv + (1−α)g²; centered: a = αa + (1−α)g, v̂ = v − a²; d = sqrt(v̂) + ε;
//             μ > 0: b = μb + g/d, θ −= lr·b; else θ −= lr·g/d
//   adagrad:  g += λθ; s += g²; θ −= lr/(1 + (t−1)·decay) · g/(sqrt(s) + ε)
//   adadelta: g += λθ; v = ρv + (1−ρ)g²; δ = sqrt(u + ε)/sqrt(v + ε)·g; u = ρu + (1−ρ)δ²; θ −= lr·δ
//   adam:     g += λθ; m = β1·m + (1−β1)g; v = β2·v + (1−β2)g²; amsgrad: w = max(w, v), else w = v;
//             θ −= lr/(1−β1ᵗ) · m/(sqrt(w)/sqrt(1−β2ᵗ) + ε)
// Beside the update, each adaptive kind's diagonal preconditioner P of the coming step, written and not
// applied (the state is read, never changed): the update is θ −= lr·P⊙g with momentum ignored (Adam's m̂ taken
// as g), so the batch's outputs move by (I − 2·lr·J·P·Jᵀ/b) and its critical rate is b/λ_max(J·P·Jᵀ).
//   rmsprop:  P = 1/(sqrt(v̂) + ε), v̂ as the update's (centered or not)
//   adagrad:  P = 1/((1 + (t−1)·decay)·(sqrt(s + g²) + ε))
//   adadelta: P = sqrt(u + ε)/sqrt(v + ε)
//   adam:     P = 1/(sqrt(w)/sqrt(1−β2ᵗ) + ε), w as the update's
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { FLAT_WORKGROUP_INDEX, ceilDiv, f32Bits, flatGrid, memoByKey, type KernelDef } from '../src/gpu/kernel.ts';

export type OptimizerKind = 'sgd' | 'rmsprop' | 'adagrad' | 'adadelta' | 'adam';

export interface OptimizerVariant {
  kind: OptimizerKind;
  /** sgd and rmsprop: keep a momentum buffer. */
  momentum: boolean;
  nesterov: boolean;
  centered: boolean;
  amsgrad: boolean;
}

/** State arrays each kind keeps, in binding order. */
export function stateNames(v: OptimizerVariant): string[] {
  switch (v.kind) {
    case 'sgd':
      return v.momentum ? ['momentum_buffer'] : [];
    case 'rmsprop':
      return ['square_avg', ...(v.momentum ? ['momentum_buffer'] : []), ...(v.centered ? ['grad_avg'] : [])];
    case 'adagrad':
      return ['sum'];
    case 'adadelta':
      return ['square_avg', 'acc_delta'];
    case 'adam':
      return ['exp_avg', 'exp_avg_sq', ...(v.amsgrad ? ['max_exp_avg_sq'] : [])];
  }
}

/** The per-step uniforms: hyperparameters with the step's factors already applied by the host. */
export interface OptimizerShape {
  count: number;
  lr: number;
  weightDecay: number;
  /** sgd, rmsprop: μ; adadelta: ρ; rmsprop: α in `decay`; adam: β1, β2. */
  momentum: number;
  dampening: number;
  decay: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** 1 on the first step (sgd initializes its momentum buffer with the gradient). */
  first: boolean;
  /** adam: 1 − β1ᵗ and sqrt(1 − β2ᵗ). */
  biasCorrection1: number;
  biasCorrection2Sqrt: number;
}

const WG = 256;

/** The uniforms of both kernels, in OptimizerShape's order (see uniforms()). */
const PARAMS = `struct Params {
  count: u32, first: u32, pad0: u32, pad1: u32,
  lr: f32, weightDecay: f32, momentum: f32, dampening: f32,
  decay: f32, beta1: f32, beta2: f32, eps: f32,
  biasCorrection1: f32, biasCorrection2Sqrt: f32, pad2: f32, pad3: f32,
}
`;

const uniforms = (s: OptimizerShape) =>
  Uint32Array.of(
    s.count, s.first ? 1 : 0, 0, 0,
    f32Bits(s.lr), f32Bits(s.weightDecay), f32Bits(s.momentum), f32Bits(s.dampening),
    f32Bits(s.decay), f32Bits(s.beta1), f32Bits(s.beta2), f32Bits(s.eps),
    f32Bits(s.biasCorrection1), f32Bits(s.biasCorrection2Sqrt), 0, 0,
  );

export const optimizerUpdate = memoByKey(
  (v: OptimizerVariant) => `optim:${v.kind}${v.momentum ? ':m' : ''}${v.nesterov ? ':nesterov' : ''}${v.centered ? ':centered' : ''}${v.amsgrad ? ':amsgrad' : ''}`,
  (v, key): KernelDef<OptimizerShape> => {
    const states = stateNames(v);
    const decl = states.map((name, i) => `@group(0) @binding(${2 + i}) var<storage, read_write> ${name}: array<f32>;`).join('\n');
    const source = wgsl`
${PARAMS}
@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
${decl}
// The rate's scale: 1, or the live rate a kernel wrote from η_crit (shaders/live-rate.ts) this step.
@group(0) @binding(${2 + states.length}) var<storage, read> rate: array<f32>;
@group(0) @binding(${3 + states.length}) var<uniform> p: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let i = ${FLAT_WORKGROUP_INDEX} * ${WG}u + tid;
  if (i >= p.count) { return; }
  let theta = param[i];
  let lr = p.lr * rate[0];
  var g = grad[i] + p.weightDecay * theta;
#if ${v.kind === 'sgd'}
#if ${v.momentum}
  var b = g;
  if (p.first == 0u) { b = p.momentum * momentum_buffer[i] + (1.0 - p.dampening) * g; }
  momentum_buffer[i] = b;
#if ${v.nesterov}
  g = g + p.momentum * b;
#else
  g = b;
#endif
#endif
  param[i] = theta - lr * g;
#elif ${v.kind === 'rmsprop'}
  let v = p.decay * square_avg[i] + (1.0 - p.decay) * g * g;
  square_avg[i] = v;
#if ${v.centered}
  let a = p.decay * grad_avg[i] + (1.0 - p.decay) * g;
  grad_avg[i] = a;
  let d = sqrt(v - a * a) + p.eps;
#else
  let d = sqrt(v) + p.eps;
#endif
#if ${v.momentum}
  let b = p.momentum * momentum_buffer[i] + g / d;
  momentum_buffer[i] = b;
  param[i] = theta - lr * b;
#else
  param[i] = theta - lr * g / d;
#endif
#elif ${v.kind === 'adagrad'}
  let s = sum[i] + g * g;
  sum[i] = s;
  param[i] = theta - lr * g / (sqrt(s) + p.eps);
#elif ${v.kind === 'adadelta'}
  let v = p.decay * square_avg[i] + (1.0 - p.decay) * g * g;
  square_avg[i] = v;
  let delta = sqrt(acc_delta[i] + p.eps) / sqrt(v + p.eps) * g;
  acc_delta[i] = p.decay * acc_delta[i] + (1.0 - p.decay) * delta * delta;
  param[i] = theta - lr * delta;
#else
  let m = p.beta1 * exp_avg[i] + (1.0 - p.beta1) * g;
  let v = p.beta2 * exp_avg_sq[i] + (1.0 - p.beta2) * g * g;
  exp_avg[i] = m;
  exp_avg_sq[i] = v;
#if ${v.amsgrad}
  let w = max(max_exp_avg_sq[i], v);
  max_exp_avg_sq[i] = w;
#else
  let w = v;
#endif
  param[i] = theta - lr / p.biasCorrection1 * m / (sqrt(w) / p.biasCorrection2Sqrt + p.eps);
#endif
}
`;
    return {
      name: `optimizer ${key.slice('optim:'.length)}`,
      key,
      source,
      workgroupSize: [WG, 1, 1],
      bindings: ['write', 'read', ...states.map(() => 'write' as const), 'read', 'uniform'],
      grid: (s) => flatGrid(ceilDiv(s.count, WG)),
      uniforms,
    };
  },
);

/** Kinds with a preconditioner other than the identity. */
export const ADAPTIVE_KINDS: readonly OptimizerKind[] = ['rmsprop', 'adagrad', 'adadelta', 'adam'];

/**
 * P of the coming update into `precond` (see the header), from the parameters, the step's gradient and the
 * state before the update. `lr` carries the factor of the scheduled rate the update applies (AdaGrad's
 * 1/(1 + (t−1)·decay); 1 otherwise).
 */
export const optimizerPreconditioner = memoByKey(
  (v: OptimizerVariant) => `precond:${v.kind}${v.centered ? ':centered' : ''}${v.amsgrad ? ':amsgrad' : ''}`,
  (v, key): KernelDef<OptimizerShape> => {
    if (!ADAPTIVE_KINDS.includes(v.kind)) throw new RangeError(`optimizer ${v.kind} has no preconditioner: its critical rate is the batch NTK's`);
    const states = stateNames(v);
    const decl = states.map((name, i) => `@group(0) @binding(${3 + i}) var<storage, read> ${name}: array<f32>;`).join('\n');
    const source = wgsl`
${PARAMS}
@group(0) @binding(0) var<storage, read_write> precond: array<f32>;
@group(0) @binding(1) var<storage, read> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
${decl}
@group(0) @binding(${3 + states.length}) var<uniform> p: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let i = ${FLAT_WORKGROUP_INDEX} * ${WG}u + tid;
  if (i >= p.count) { return; }
  let g = grad[i] + p.weightDecay * param[i];
#if ${v.kind === 'rmsprop'}
  let v = p.decay * square_avg[i] + (1.0 - p.decay) * g * g;
#if ${v.centered}
  let a = p.decay * grad_avg[i] + (1.0 - p.decay) * g;
  precond[i] = 1.0 / (sqrt(v - a * a) + p.eps);
#else
  precond[i] = 1.0 / (sqrt(v) + p.eps);
#endif
#elif ${v.kind === 'adagrad'}
  precond[i] = p.lr / (sqrt(sum[i] + g * g) + p.eps);
#elif ${v.kind === 'adadelta'}
  let v = p.decay * square_avg[i] + (1.0 - p.decay) * g * g;
  precond[i] = sqrt(acc_delta[i] + p.eps) / sqrt(v + p.eps);
#else
  let v = p.beta2 * exp_avg_sq[i] + (1.0 - p.beta2) * g * g;
#if ${v.amsgrad}
  let w = max(max_exp_avg_sq[i], v);
#else
  let w = v;
#endif
  precond[i] = 1.0 / (sqrt(w) / p.biasCorrection2Sqrt + p.eps);
#endif
}
`;
    return {
      name: `preconditioner ${key.slice('precond:'.length)}`,
      key,
      source,
      workgroupSize: [WG, 1, 1],
      bindings: ['write', 'read', 'read', ...states.map(() => 'read' as const), 'uniform'],
      grid: (s) => flatGrid(ceilDiv(s.count, WG)),
      uniforms,
    };
  },
);
