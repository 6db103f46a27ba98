import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { biasAct } from '../shaders/bias-act.ts';
import { gemmTiled } from '../shaders/gemm-tiled.ts';
import { requestNodeGpu } from '../src/cli/node-gpu.ts';
import { DeviceLostError } from '../src/gpu/errors.ts';
import type { Gpu } from '../src/gpu/gpu.ts';
import { matmul } from '../src/kernels/ops.ts';
import { BindGroupCache } from '../src/gpu/bind-groups.ts';
import type { CompiledKernel } from '../src/gpu/pipelines.ts';
import { timeStep } from '../src/gpu/timing.ts';
import { releaseTestGpu, testGpu } from './gpu.ts';

let gpu: Gpu;
// beforeEach, not beforeAll: a missing adapter then fails each test instead of marking them skipped.
beforeEach(async () => {
  gpu = await testGpu();
});
afterAll(releaseTestGpu);

describe('device', () => {
  it('reports the adapter and raises the buffer limits to the adapter maximum', () => {
    const a = gpu.adapter;
    expect(a.host).toBe('node');
    expect(a.vendor.length + a.architecture.length + a.description.length).toBeGreaterThan(0);
    if (a.architecture === 'swiftshader') expect(a.kind).toBe('swiftshader');
    if (/llvmpipe/.test(a.device + a.description)) expect(a.kind).toBe('lavapipe');
    expect(a.isSoftware).toBe(a.kind !== 'gpu');
    // The device has what the adapter offers (we asked for its maximum), which is at least the spec's
    // default: 128 MiB of storage binding (lavapipe offers exactly that, SwiftShader 1 GiB, GPUs often more).
    for (const [name, value] of Object.entries(gpu.requestedLimits)) expect(gpu.limits[name as keyof GPUSupportedLimits], name).toBe(value);
    expect(gpu.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);
  });

  it('counts the bytes of live buffers and their peak', () => {
    const before = gpu.liveBytes;
    gpu.resetPeak();
    const a = gpu.matrix('a', 100, 10);
    const b = gpu.matrix('b', 3, 3); // 36 bytes, stored as created
    expect(gpu.liveBytes - before).toBe(4000 + 36);
    a.buffer.destroy();
    a.buffer.destroy(); // twice is harmless, and counted once
    expect(gpu.liveBytes - before).toBe(36);
    expect(gpu.peakBytes - before).toBe(4036);
    b.buffer.destroy();
    expect(gpu.liveBytes).toBe(before);
  });

  it('a lost device rejects pending and later work with DeviceLostError instead of hanging', async () => {
    const doomed = await requestNodeGpu();
    const m = doomed.matrix('m', 4, 4, new Float32Array(16));
    doomed.destroy();
    await expect(doomed.read(m)).rejects.toBeInstanceOf(DeviceLostError);
    await expect(doomed.done()).rejects.toThrow(/device was lost/);
    expect(doomed.isLost).toBe(true);
  });
});

describe('pipeline cache', () => {
  it('compiles a key once', async () => {
    const def = biasAct({ act: 'relu', bias: true });
    await gpu.prepare([def]);
    const before = gpu.pipelines.size;
    const again = await gpu.pipelines.get(biasAct({ act: 'relu', bias: true }));
    expect(gpu.pipelines.size).toBe(before);
    expect(again.key).toBe(def.key);
  });

  it('refuses one key with two sources (a builder that left an option out of its key)', async () => {
    const def = gemmTiled({ transA: false, transB: false });
    await gpu.prepare([def]);
    expect(() => gpu.pipelines.get({ ...def, source: def.source + '\n// changed' })).toThrow(/two different WGSL sources/);
  });
});

describe('steps', () => {
  it('refuses to record a kernel that was not compiled first', () => {
    const step = gpu.step('s');
    const def = { ...biasAct({ act: 'identity', bias: false }), key: 'never-prepared' };
    expect(() => step.dispatch(def, [], { rows: 1, cols: 1 })).toThrow(/not compiled yet/);
  });

  it('checks the number of buffers and the shapes of a product', async () => {
    const def = biasAct({ act: 'identity', bias: false });
    await gpu.prepare([def]);
    const m = gpu.matrix('m', 2, 2);
    expect(() => gpu.step('s').dispatch(def, [m.buffer], { rows: 2, cols: 2 })).toThrow(/takes 2 storage buffers, got 1/);
    const A = gpu.matrix('A', 3, 4);
    const B = gpu.matrix('B', 5, 6);
    await expect(matmul(gpu.step('s'), A, B, gpu.matrix('C', 3, 6))).rejects.toThrow(/inner dimensions differ \(4 vs 5\)/);
    await expect(matmul(gpu.step('s'), A, gpu.matrix('B2', 4, 6), gpu.matrix('C', 6, 3))).rejects.toThrow(/C must be 3×6/);
    await expect(matmul(gpu.step('s'), A, gpu.matrix('B2', 4, 6), gpu.matrix('C', 3, 6), { variant: 'fast' as never })).rejects.toThrow(
      /variant must be one of auto, tiled, vec4, reduce, splitk/,
    );
    // vec4 on a shape whose rows are not whole float4s says which dimensions must be multiples of 4.
    await expect(matmul(gpu.step('s'), gpu.matrix('A3', 3, 5), gpu.matrix('B3', 5, 4), gpu.matrix('C3', 3, 4), { variant: 'vec4' })).rejects.toThrow(
      /vec4 needs K, N to be multiples of 4; got M=3 N=4 K=5/,
    );
  });
});

describe('bind-group cache', () => {
  it('reuses a group per kernel and buffer ranges, and past capacity drops the least recently used one only', () => {
    let created = 0;
    const device = { createBindGroup: () => ({ id: created++ }) as unknown as GPUBindGroup };
    const cache = new BindGroupCache(device, 3);
    const kernel = { key: 'k', name: 'k', layout: {} } as unknown as CompiledKernel;
    const [a, b, c, d] = [0, 1, 2, 3].map(() => ({}) as GPUBuffer);
    const group = (buffer: GPUBuffer, offset = 0) => cache.get(kernel, [{ buffer, offset }], null, 0, 0);
    const ga = group(a);
    expect(group(a)).toBe(ga);
    expect(group(a, 16)).not.toBe(ga);
    const gb = group(b);
    expect(created).toBe(3);
    group(a); // a is now the most recently used; (a, 16) the least
    group(c); // over capacity: (a, 16) goes
    expect(created).toBe(4);
    expect(group(a)).toBe(ga);
    expect(group(b)).toBe(gb);
    group(a, 16); // c, now the least recently used, goes
    expect(created).toBe(5);
    group(c);
    expect(created).toBe(6);
  });
});

describe('timing', () => {
  const record = async () => {
    const A = gpu.matrix('A', 64, 64, new Float32Array(64 * 64).fill(1));
    const C = gpu.matrix('C', 64, 64);
    await gpu.prepare([gemmTiled({ transA: false, transB: false })]);
    return async (step: ReturnType<Gpu['step']>) => void (await matmul(step, A, A, C, { variant: 'tiled' }));
  };

  it('measures with timestamp queries where the adapter has them', async () => {
    if (!gpu.timestamps) await expect(gpu.submitTimed(gpu.step('s'))).rejects.toThrow(/no timestamp-query/);
    else {
      const t = await timeStep(gpu, await record(), { minReps: 3 });
      expect(t.method).toBe('timestamp-query');
      expect(t.samplesMs).toHaveLength(3);
      expect(t.medianMs).toBeGreaterThan(0);
    }
  });

  it('refuses to time a step with nothing in it', async () => {
    // Without timestamps submitTimed refuses every step; with them, an empty one.
    await expect(gpu.submitTimed(gpu.step('empty'))).rejects.toThrow(gpu.timestamps ? /no dispatch to time/ : /no timestamp-query/);
  });

  it('measures with wall clock around onSubmittedWorkDone otherwise', async () => {
    const t = await timeStep(gpu, await record(), { minReps: 3, method: 'wall-clock' });
    expect(t.method).toBe('wall-clock');
    expect(t.medianMs).toBeGreaterThan(0);
  });
});

describe('layout', () => {
  // The core runs in the browser and in Node alike: only src/app (DOM) and src/cli (Node) may use either.
  const root = join(import.meta.dirname, '..');
  const coreFiles = (dir: string): string[] =>
    readdirSync(join(root, dir)).flatMap((name) => {
      const rel = join(dir, name);
      if (statSync(join(root, rel)).isDirectory()) return ['src/app', 'src/cli'].includes(rel) ? [] : coreFiles(rel);
      return rel.endsWith('.ts') ? [rel] : [];
    });

  it('the core imports no Node module and touches no DOM global', () => {
    const offenders = [...coreFiles('src'), ...coreFiles('shaders')].filter((f) => {
      const text = readFileSync(join(root, f), 'utf8');
      return /from ['"](node:|webgpu['"]|fs['"]|path['"])/.test(text) || /\b(document|window|navigator)\./.test(text) || /\bprocess\./.test(text);
    });
    expect(offenders).toEqual([]);
  });
});
