// Models written as ordinary PyTorch modules (test/torch-models.py: a CNN with batch norm, a residual MLP, a
// pre-norm block with layer norm and GELU), exported by torch.onnx.export, imported, and checked against
// PyTorch itself in float64: the outputs, the NTK J·Jᵀ over every parameter, and, after training here, the
// state dict written back, which load_state_dict(strict=True) must take into the original module and which
// must reproduce the engine's outputs. Needs Debian's python3-torch (scripts/setup.sh installs it).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeOnnx } from '../src/io/onnx.ts';
import { readNpy } from '../src/io/safetensors.ts';
import { NtkGram } from '../src/ntk/gram.ts';
import { importOnnx } from '../src/nn/onnx-import.ts';
import { Graph } from '../src/nn/graph.ts';
import { shapeSize } from '../src/nn/network.ts';
import { encodeStateDict } from '../src/run/state-dict.ts';
import { main } from '../src/cli/catapult.ts';
import { checkpointParams, decodeCheckpoint } from '../src/run/checkpoint.ts';
import { releaseTestGpu, testGpu } from './gpu.ts';
import { relErr } from './numeric.ts';

const python = '/usr/bin/python3';
let dir = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'catapult-onnx-'));
  const r = spawnSync(python, ['test/torch-models.py', 'export', dir], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`test/torch-models.py export failed (python3-torch and python3-onnx are needed; scripts/setup.sh installs them):\n${r.stderr}`);
});
afterAll(async () => {
  await releaseTestGpu();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const npy = (name: string) => readNpy(new Uint8Array(readFileSync(join(dir, name))), name);

async function imported(name: string, parameterization: 'standard' | 'ntk' = 'standard') {
  const gpu = await testGpu();
  const model = importOnnx(decodeOnnx(new Uint8Array(readFileSync(join(dir, `${name}.onnx`))), `${name}.onnx`), { parameterization });
  const net = new Graph(gpu, model.layers, model.inputShape, model.outputs, 0, model.params, model.inputs);
  const x = npy(`${name}-x.npy`);
  const n = x.shape[0];
  const X = gpu.matrix('X', n, shapeSize(model.inputShape), Float32Array.from(x.values));
  return { gpu, model, net, X, n };
}

async function outputs(name: string, parameterization: 'standard' | 'ntk' = 'standard') {
  const { gpu, net, X } = await imported(name, parameterization);
  const step = gpu.step('forward');
  const tape = await net.forward(step, X);
  gpu.submit(step);
  const out = await gpu.read(tape.output);
  net.destroy();
  return out;
}

describe('PyTorch modules exported to ONNX, against PyTorch in float64', () => {
  for (const name of ['cnn', 'residual', 'block']) {
    it(`${name}: the imported net's outputs equal the module's`, async () => {
      expect(relErr(await outputs(name), npy(`${name}-out.npy`).values)).toBeLessThan(1e-5);
    });

    it(`${name}: its NTK at the exported weights equals torch's float64 J·Jᵀ over every parameter`, async () => {
      const { gpu, net, X } = await imported(name);
      const gram = new NtkGram(gpu, net);
      const K = await gram.formed(X);
      gram.destroy();
      net.destroy();
      expect(relErr(K, npy(`${name}-ntk.npy`).values)).toBeLessThan(1e-5);
    });
  }

  it('the NTK parameterization computes the same function at the start, with another kernel', async () => {
    expect(relErr(await outputs('cnn', 'ntk'), npy('cnn-out.npy').values)).toBeLessThan(1e-5);
  });

  for (const name of ['cnn', 'residual', 'block']) {
    it(`${name}: weights changed here load back into the module with strict=True and give the engine's outputs`, async () => {
      for (const parameterization of ['standard', 'ntk'] as const) {
        const { gpu, model, net, X } = await imported(name, parameterization);
        // Move every trainable weight, as training would.
        const params = await net.readParams();
        for (const t of model.layout.tensors) if (!t.frozen) for (let i = 0; i < t.count; i++) params[t.offset + i] *= 1 + 0.1 * Math.sin(i + t.offset);
        gpu.write(net.params, params);
        const step = gpu.step('forward');
        const tape = await net.forward(step, X);
        gpu.submit(step);
        const mine = await gpu.read(tape.output);
        net.destroy();
        const state = join(dir, `${name}-${parameterization}-state.safetensors`);
        writeFileSync(state, encodeStateDict(model, params, {}));
        const out = join(dir, `${name}-${parameterization}-loaded.npy`);
        const r = spawnSync(python, ['test/torch-models.py', 'load', dir, name, state, out], { encoding: 'utf8', timeout: 120_000 });
        expect(r.status, r.stderr).toBe(0);
        expect(relErr(mine, npy(`${name}-${parameterization}-loaded.npy`).values), parameterization).toBeLessThan(1e-5);
      }
    });
  }
});

/** `catapult ...args` in this process: its exit code, stdout and stderr. */
async function catapult(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  const log = vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => {
    stdout += `${parts.join(' ')}\n`;
  });
  try {
    return { code: await main(args), stdout, stderr };
  } finally {
    err.mockRestore();
    log.mockRestore();
  }
}

describe('catapult run MODEL.onnx, then catapult export', () => {
  it('trains the exported CNN with NTK tracking on its arrays, and its weights load back into the module with strict=True', async () => {
    const out = join(dir, 'cnn-run');
    const run = await catapult('run', join(dir, 'cnn.onnx'), '--data', `${join(dir, 'cnn-x.npy')},${join(dir, 'cnn-y.npy')}`, '--set', 'steps=6', '--set', 'tracking.batch={}', '--set', 'batchSize=4', '--no-report', '--out', out);
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ preset: 'cnn', paper: 'your ONNX model', status: 'completed', steps: 6 });
    const steps = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'step');
    expect(steps).toHaveLength(6);
    for (const r of steps) {
      expect(r.lambda).toBeGreaterThan(0);
      expect(r.lambdaBatch).toBeGreaterThan(0);
    }
    // Step 0's tracked λ_max is that of torch's J·Jᵀ at the exported weights.
    const K = npy('cnn-ntk.npy');
    const { symmetricEigen } = await import('../src/ntk/eigen.ts');
    const top = Math.max(...symmetricEigen(K.values, K.shape[0]).values);
    expect(Math.abs(steps[0].lambda - top) / top).toBeLessThan(1e-4);

    const exported = await catapult('export', out);
    expect(exported.code, exported.stderr).toBe(0);
    const state = exported.stdout.trim();
    expect(state).toBe(join(out, 'state_dict.safetensors'));
    const loaded = join(dir, 'cnn-run-loaded.npy');
    const r = spawnSync(python, ['test/torch-models.py', 'load', dir, 'cnn', state, loaded], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    // The engine's outputs with the checkpoint's weights.
    const { gpu, model, net, X } = await imported('cnn');
    const saved = decodeCheckpoint(new Uint8Array(readFileSync(join(out, 'checkpoint-6.safetensors'))));
    gpu.write(net.params, checkpointParams(saved, model.layout));
    const step = gpu.step('forward');
    const tape = await net.forward(step, X);
    gpu.submit(step);
    const mine = await gpu.read(tape.output);
    net.destroy();
    expect(relErr(mine, npy('cnn-run-loaded.npy').values)).toBeLessThan(1e-5);
    // Trained: not the exported outputs any more.
    expect(relErr(mine, npy('cnn-out.npy').values)).toBeGreaterThan(1e-3);
  });

  it('an ONNX model\'s run resumes from its checkpoint to the same numbers as a run straight through', async () => {
    const data = `${join(dir, 'residual-x.npy')},${join(dir, 'residual-y.npy')}`;
    const straight = join(dir, 'res-straight');
    const a = await catapult('run', join(dir, 'residual.onnx'), '--data', data, '--set', 'steps=6', '--save-at', '3', '--no-report', '--out', straight);
    expect(a.code, a.stderr).toBe(0);
    const resumed = join(dir, 'res-resumed');
    const b = await catapult('run', '--resume', join(straight, 'checkpoint-3.safetensors'), '--no-report', '--out', resumed);
    expect(b.code, b.stderr).toBe(0);
    const losses = (folder: string) => readFileSync(join(folder, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'step' && l.step >= 3).map((l) => l.loss);
    expect(losses(resumed)).toEqual(losses(straight));
    expect(JSON.parse(readFileSync(join(resumed, 'summary.json'), 'utf8')).preset).toBe('residual');
  });

  it('export refuses a run that is not an ONNX model\'s, and a folder without a checkpoint, naming them', async () => {
    const plain = join(dir, 'plain-run');
    const ran = await catapult('run', 'gd-catapult', '--set', 'steps=2', '--set', 'model.hidden=8', '--save-at', '2', '--no-report', '--out', plain);
    expect(ran.code, ran.stderr).toBe(0);
    const notOnnx = await catapult('export', plain);
    expect(notOnnx.code).toBe(2);
    expect(notOnnx.stderr).toMatch(/checkpoint-2.safetensors is a run of a fcn model; catapult export writes the state dict of an ONNX model's module/);
    const empty = mkdtempSync(join(tmpdir(), 'catapult-empty-'));
    const none = await catapult('export', empty);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/holds no checkpoint-S.safetensors/);
    const to = await catapult('export', plain, '--to', 'keras');
    expect(to.code).toBe(2);
    expect(to.stderr).toMatch(/--to must be pytorch/);
  });
});
