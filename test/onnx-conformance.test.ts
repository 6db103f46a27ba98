// ONNX's own operator tests (Debian's libonnx-testdata: node/ and pytorch-converted/, each a model.onnx with
// inputs and expected outputs) for the operators the importer maps: every case whose model imports runs its
// forward pass on the GPU and must match the expected output; every other case must be refused with a reason.
// docs/onnx-conformance.md is the table of both; this test fails when the table and what happens disagree
// (rewrite it with CATAPULT_WRITE_CONFORMANCE=1 npx vitest run test/onnx-conformance.test.ts).
// A node test's graph inputs after the first (weights, biases, statistics) are bound as initializers with the
// test's values: in ONNX's node tests every operand is a graph input, in an exported model weights are not;
// and only a test's first output is compared (LayerNormalization's also ask for the mean and 1/σ it keeps).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeOnnx, decodeOnnxTensor } from '../src/io/onnx.ts';
import { Graph } from '../src/nn/graph.ts';
import { shapeSize } from '../src/nn/network.ts';
import { importOnnx } from '../src/nn/onnx-import.ts';
import { releaseTestGpu, testGpu } from './gpu.ts';
import { relErr } from './numeric.ts';

afterAll(releaseTestGpu);

const ROOT = '/usr/share/libonnx-testdata/data';
const DOC = 'docs/onnx-conformance.md';
/** The cases of the operators the importer maps, or that a user's model is likely to hold. */
const CASES = /^test_(conv_|gemm_|matmul_2d|add$|averagepool_2d_|globalaveragepool|maxpool_2d_|batchnorm_|layer_normalization_|flatten_|reshape_|relu$|sigmoid|tanh|gelu|identity$|dropout_default$|Conv2d|Linear|MaxPool2d|AvgPool2d|BatchNorm2d_eval|BatchNorm1d_3d_input_eval|GLU|PReLU|ReLU|Sigmoid|Tanh)/;

interface Row {
  suite: string;
  name: string;
  /** 'passes' (with the relative error) or 'refused' (with why). */
  result: 'passes' | 'refused' | 'fails';
  detail: string;
}

async function runCase(suite: string, name: string): Promise<Row> {
  const folder = join(ROOT, suite, name);
  const model = decodeOnnx(new Uint8Array(readFileSync(join(folder, 'model.onnx'))), name);
  const data = join(folder, 'test_data_set_0');
  const inputs = readdirSync(data).filter((f) => /^input_\d+\.pb$/.test(f)).sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]));
  const tensors = inputs.map((f) => decodeOnnxTensor(new Uint8Array(readFileSync(join(data, f))), f));
  // Bind every graph input but the first as an initializer with the test's value.
  for (const [i, info] of model.inputs.slice(1).entries()) model.initializers.set(info.name, { ...tensors[i + 1], name: info.name });
  model.inputs = model.inputs.slice(0, 1);
  // Only the first output is compared (a model gives one; LayerNormalization's tests also ask for its mean and 1/σ).
  model.outputs = model.outputs.slice(0, 1);
  let imported;
  try {
    imported = importOnnx(model);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    return { suite, name, result: 'refused', detail: e.message.replace(`${name}: `, '').replace(/; the operators read are .*/, '') };
  }
  const gpu = await testGpu();
  const x = tensors[0];
  const n = x.dims[0];
  const net = new Graph(gpu, imported.layers, imported.inputShape, imported.outputs, 0, imported.params, imported.inputs);
  const X = gpu.matrix('X', n, shapeSize(imported.inputShape), Float32Array.from(x.values));
  const step = gpu.step(name);
  const tape = await net.forward(step, X);
  gpu.submit(step);
  const got = await gpu.read(tape.output);
  net.destroy();
  X.buffer.destroy();
  const want = decodeOnnxTensor(new Uint8Array(readFileSync(join(data, 'output_0.pb'))), 'output_0.pb').values;
  const err = relErr(got, want);
  return { suite, name, result: got.length === want.length && err < 1e-5 ? 'passes' : 'fails', detail: `relative error ${err.toExponential(1)}` };
}

const table = (rows: Row[]) =>
  [
    '# ONNX conformance',
    '',
    'ONNX\'s own operator tests (Debian\'s `libonnx-testdata` 1.12: `node/` and `pytorch-converted/`) for the operators',
    'the importer (`src/nn/onnx-import.ts`) maps, run by `test/onnx-conformance.test.ts`: each case that imports runs its forward',
    'pass on the GPU against the expected output (relative error under 1e-5); each other case is refused with the reason below.',
    'A node test\'s operands after the first are bound as initializers (in an exported model they are weights), and only its first',
    'output is compared (LayerNormalization\'s tests also ask for the mean and 1/σ). A refusal lists the operators read. This table is',
    'written by the test (`CATAPULT_WRITE_CONFORMANCE=1 npx vitest run test/onnx-conformance.test.ts`) and checked by it on every run.',
    '',
    `${rows.filter((r) => r.result === 'passes').length} cases pass, ${rows.filter((r) => r.result === 'refused').length} are refused, ${rows.filter((r) => r.result === 'fails').length} fail.`,
    '',
    '| suite | case | result | detail |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.suite} | ${r.name} | ${r.result} | ${r.result === 'passes' ? 'matches' : r.detail.replace(/\|/g, '\\|')} |`),
    '',
  ].join('\n');

describe('ONNX\'s operator tests (libonnx-testdata)', () => {
  it('every case that imports matches its expected output, and docs/onnx-conformance.md says which pass and which are refused', async () => {
    expect(existsSync(ROOT), `${ROOT} is missing: install Debian's libonnx-testdata (scripts/setup.sh does)`).toBe(true);
    const rows: Row[] = [];
    for (const suite of ['node', 'pytorch-converted']) {
      for (const name of readdirSync(join(ROOT, suite)).filter((n) => CASES.test(n)).sort()) rows.push(await runCase(suite, name));
    }
    const text = table(rows);
    if (process.env.CATAPULT_WRITE_CONFORMANCE === '1') writeFileSync(DOC, text);
    expect(rows.filter((r) => r.result === 'fails').map((r) => `${r.name}: ${r.detail}`)).toEqual([]);
    // The operators the importer claims are exercised, not all refused.
    for (const claimed of ['test_gemm_default_vector_bias', 'test_conv_with_strides_padding', 'test_batchnorm_example', 'test_globalaveragepool', 'test_relu', 'test_sigmoid', 'test_tanh', 'test_matmul_2d', 'test_layer_normalization_2d_axis1', 'test_Conv2d_padding', 'test_Linear', 'test_Linear_no_bias', 'test_AvgPool2d', 'test_BatchNorm2d_eval', 'test_maxpool_2d_default', 'test_maxpool_2d_precomputed_pads', 'test_MaxPool2d']) {
      expect(rows.find((r) => r.name === claimed)?.result, claimed).toBe('passes');
    }
    expect(readFileSync(DOC, 'utf8'), `${DOC} is out of date: rewrite it with CATAPULT_WRITE_CONFORMANCE=1 npx vitest run test/onnx-conformance.test.ts`).toBe(text);
  }, 300_000);
});
