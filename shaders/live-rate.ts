// The learning rate of a step as a multiple of the live critical rate η_crit = n/λ_max, computed on the GPU
// from the λ_max the tracker has just written into the step's metrics row, so no step waits for a readback.
// One invocation; a small state machine over the steps (state = [λ, mode, held rate, steps held]):
//   mode 0 (before the first raise):  η = base·η_crit
//   a raise step:                     η = raise·η_crit, held at that value (mode 1) ...
//   mode 1 (holding):                 ... until the catapult is over: the held rate is no longer above the
//                                     live η_crit (λ_max has dropped below n/η), or maxHold steps passed;
//   mode 2 (after the catapult):      η = min(held, after·η_crit): the raised rate is kept while it is safe
//                                     and decayed to after·η_crit as the network sharpens back ("we decay the
//                                     learning rate if necessary after the catapult"). It never rises above
//                                     the held rate: right after a catapult λ_max can collapse for a few
//                                     steps, and a rate that followed it up would be a raise nobody asked for.
// λ is taken from the metrics row only on steps where it was tracked (`fresh`); other steps use the last one.
// The rate goes to rate[0], which the optimizer's update reads, and to metrics[outSlot] for the record.
import { type KernelDef, f32Bits } from '../src/gpu/kernel.ts';

export interface LiveRateShape {
  /** Float index in the metrics buffer of this step's λ_max, and of where the rate is written. */
  lambdaSlot: number;
  outSlot: number;
  /** Whether λ_max was tracked at this step (else the last tracked value is used). */
  fresh: boolean;
  /** Whether this step raises the rate. */
  raise: boolean;
  /** Examples of the kernel (η_crit = n/λ_max). */
  n: number;
  base: number;
  raiseFactor: number;
  after: number;
  maxHold: number;
}

export const liveRate: KernelDef<LiveRateShape> = {
  name: 'live rate from η_crit',
  key: 'live-rate',
  source: /* wgsl */ `
struct Params {
  lambdaSlot: u32, outSlot: u32, fresh: u32, raise: u32,
  n: f32, base: f32, raiseFactor: f32, after: f32,
  maxHold: u32, pad0: u32, pad1: u32, pad2: u32,
}

@group(0) @binding(0) var<storage, read_write> metrics: array<f32>;
@group(0) @binding(1) var<storage, read_write> state: array<f32>;
@group(0) @binding(2) var<storage, read_write> rate: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(1)
fn main() {
  if (p.fresh == 1u) { state[0] = metrics[p.lambdaSlot]; }
  let crit = p.n / state[0];
  var mode = u32(state[1]);
  var held = state[2];
  var count = u32(state[3]);
  if (p.raise == 1u) {
    mode = 1u;
    held = p.raiseFactor * crit;
    count = 0u;
  } else if (mode == 1u && (held <= crit || count >= p.maxHold)) {
    mode = 2u;
  }
  var eta = p.base * crit;
  if (mode == 1u) {
    eta = held;
    count = count + 1u;
  } else if (mode == 2u) {
    eta = min(held, p.after * crit);
  }
  state[1] = f32(mode);
  state[2] = held;
  state[3] = f32(count);
  rate[0] = eta;
  metrics[p.outSlot] = eta;
}
`,
  workgroupSize: [1, 1, 1],
  bindings: ['write', 'write', 'write', 'uniform'],
  grid: () => [1, 1, 1],
  uniforms: (s) => Uint32Array.of(s.lambdaSlot, s.outSlot, s.fresh ? 1 : 0, s.raise ? 1 : 0, f32Bits(s.n), f32Bits(s.base), f32Bits(s.raiseFactor), f32Bits(s.after), s.maxHold, 0, 0, 0),
};
