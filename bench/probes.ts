// Why the CPU drivers' figures look as they do: tiny probe kernels that each run 4096 iterations of 16
// independent multiply-adds per invocation, alone or beside loads of different kinds, so that the time a
// load adds to an iteration shows. A uniform load reads the same address in every invocation of the
// workgroup, a lane load consecutive addresses, a float4 load four floats per invocation.
// Usage: npm run bench:probes
import type { Gpu } from '../src/gpu/gpu.ts';
import type { KernelDef } from '../src/gpu/kernel.ts';
import { timeStep } from '../src/gpu/timing.ts';
import { unroll } from '../shaders/gemm-tiled.ts';
import { provenance, type BenchTable } from './results-file.ts';

const WG = 64;
const GROUPS = 256;
const ITERATIONS = 4096;
const ACCUMULATORS = 16;

function probe(name: string, loads: string, use: (e: number) => string): KernelDef<Record<string, never>> {
  return {
    name: `probe: ${name}`,
    key: `bench-probe:${name}`,
    source: /* wgsl */ `
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> n: vec4<u32>;

@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(global_invocation_id) gid: vec3u) {
${unroll(ACCUMULATORS, (e) => `  var acc${e} = f32(${e});`)}
  let x = f32(lid) * 1e-3;
  for (var k = 0u; k < n.x; k++) {
${loads}
${unroll(ACCUMULATORS, (e) => `    acc${e} = acc${e} * 0.999 + ${use(e)};`)}
  }
  var s = 0.0;
${unroll(ACCUMULATORS, (e) => `  s += acc${e};`)}
  c[gid.x] = s;
}`,
    workgroupSize: [WG, 1, 1],
    bindings: ['read', 'read', 'write', 'uniform'],
    grid: () => [GROUPS, 1, 1],
    uniforms: () => Uint32Array.of(ITERATIONS, 0, 0, 0),
  };
}

const PROBES: [string, KernelDef<Record<string, never>>][] = [
  ['16 FMA, no load', probe('fma', '', () => 'x')],
  ['16 FMA + 1 uniform load', probe('uniform1', '    let u = a[k];', () => 'u')],
  ['16 FMA + 1 lane load', probe('lane1', `    let u = a[k * ${WG}u + lid];`, () => 'u')],
  ['16 FMA + 1 lane float4 load', probe('lane4', `    let u = a4[k * ${WG}u + lid];`, (e) => `u[${e % 4}]`)],
  ['16 FMA + 4 uniform loads', probe('uniform4', unroll(4, (i) => `    let u${i} = a[k * 4u + ${i}u];`), (e) => `u${e % 4}`)],
  ['16 FMA + 4 lane loads', probe('lane4x', unroll(4, (i) => `    let u${i} = a[(k * 4u + ${i}u) * ${WG}u + lid];`), (e) => `u${e % 4}`)],
];

export async function probesTable(gpu: Gpu, options: { log?: (line: string) => void } = {}): Promise<BenchTable> {
  const log = options.log ?? console.log;
  const A = gpu.matrix('probe input', 1 << 20, 1, new Float32Array(1 << 20).fill(1e-3));
  const C = gpu.matrix('probe output', GROUPS * WG, 1);
  const rows: (string | number)[][] = [];
  let base = NaN;
  for (const [label, def] of PROBES) {
    await gpu.prepare([def]);
    const t = await timeStep(gpu, (s) => s.dispatch(def, [A, A, C], {}), { warmup: 1, minReps: 3 });
    const flops = GROUPS * WG * ITERATIONS * ACCUMULATORS * 2;
    const nsPerIteration = (t.medianMs * 1e6) / (GROUPS * WG * ITERATIONS);
    if (Number.isNaN(base)) base = nsPerIteration;
    const row = [label, (flops / t.medianMs / 1e6).toFixed(2), nsPerIteration.toFixed(3), (nsPerIteration / base).toFixed(2)];
    rows.push(row);
    log(row.join('  |  '));
  }
  A.buffer.destroy();
  C.buffer.destroy();
  return {
    id: 'probes',
    title: 'Probe kernels',
    description:
      `${provenance()} ${GROUPS} workgroups of ${WG} invocations, each ${ITERATIONS} iterations of ${ACCUMULATORS} independent multiply-adds ` +
      'with the loads named (median of 3, GPU time where timestamp queries exist). "ns per invocation-iteration" divides the time by ' +
      'invocations × iterations (all cores together); "× no load" is that time over the probe without loads.',
    columns: ['probe', 'GFLOP/s', 'ns per invocation-iteration', '× no load'],
    rows,
  };
}
