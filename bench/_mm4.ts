import { gemmVec4, type Vec4Tile } from '../shaders/gemm-vec4.ts';
import { requestNodeGpu } from '../src/cli/node-gpu.ts';
import { Rng } from '../src/data/random.ts';
import { timeStep } from '../src/gpu/timing.ts';
const gpu = await requestNodeGpu();
const s = Number(process.argv[2] ?? 512);
const rng = new Rng(1);
const A = gpu.matrix('A', s, s, rng.uniformArray(s * s));
const B = gpu.matrix('B', s, s, rng.uniformArray(s * s));
const C = gpu.matrix('C', s, s);
const tiles: Record<string, Vec4Tile> = JSON.parse(process.argv[3]);
for (const [name, tile] of Object.entries(tiles)) {
  for (const [ta, tb] of JSON.parse(process.argv[4] ?? '[[false,false]]')) {
    const def = gemmVec4({ transA: ta, transB: tb, tile });
    await gpu.prepare([def]);
    const t = await timeStep(gpu, (st) => st.dispatch(def, [A.buffer, B.buffer, C.buffer], { M: s, N: s, K: s }), { warmup: 2, minReps: Number(process.env.REPS ?? 3) });
    console.log(name, ta, tb, t.medianMs.toFixed(1), 'ms', ((2 * s ** 3) / t.medianMs / 1e6).toFixed(2), 'GFLOP/s');
  }
}
gpu.destroy();
