// Models written as ordinary PyTorch modules (test/torch-models.py: a CNN with batch norm, a residual MLP, a
// pre-norm block with layer norm and GELU), exported by torch.onnx.export, imported, and checked against
// PyTorch itself in float64: the outputs, the NTK J·Jᵀ over every parameter, and, after training here, the
// state dict written back, which load_state_dict(strict=True) must take into the original module and which
// must reproduce the engine's outputs. Needs Debian's python3-torch (scripts/setup.sh installs it).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeOnnx } from '../src/io/onnx.ts';
import { readNpy } from '../src/io/safetensors.ts';
import { NtkGram } from '../src/ntk/gram.ts';
import { importOnnx } from '../src/nn/onnx-import.ts';
import { Graph } from '../src/nn/graph.ts';
import { shapeSize } from '../src/nn/network.ts';
import { encodeStateDict } from '../src/run/state-dict.ts';
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
