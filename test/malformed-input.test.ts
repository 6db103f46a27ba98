// The corpus of malformed input to the command line: --set values, options, presets, config files,
// checkpoints given to --resume, and run and sweep folders given to report. Each case is generated here and
// run through the command line's own entry point (in this process, so 200 cases take seconds); each must end
// with exit 2, one message that names the input at fault, and no stack trace. The data-file cases are in
// cli.test.ts, the checkpoint-header cases in checkpoint-input.test.ts, lab files and links in lab.test.ts.
// A second test changes summary.json at random bytes (seeded): a clear error or a report, never a crash.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/catapult.ts';
import { runReportHtml } from '../src/cli/report.ts';
import { Rng } from '../src/data/random.ts';
import { metricsJsonLines } from '../src/run/export.ts';
import { toJson } from '../src/run/json-numbers.ts';
import { resolvePreset } from '../src/run/presets.ts';
import { MLP, npyBytes, onnxBytes, rawNpy } from './onnx-fixtures.ts';

/** Runs `catapult ...args` in this process: its exit code and what it wrote to stderr. */
async function catapult(...args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    return { code: await main(args), stderr };
  } finally {
    err.mockRestore();
    log.mockRestore();
  }
}

interface Case {
  /** What is malformed, as a reader of the test output would say it. */
  what: string;
  args: string[];
  /** The text the message must contain: the key, option, file or value at fault. */
  names: string;
  code?: number;
}

const dir = mkdtempSync(join(tmpdir(), 'catapult-corpus-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A file in the corpus folder with these contents. */
function file(name: string, contents: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, contents);
  return path;
}

// --- the cases ----------------------------------------------------------------------------------------

const integerKeys = ['steps', 'batchSize', 'seed', 'evalEvery', 'readbackEvery', 'microBatch', 'data.train', 'tracking.set.examples'];
const notIntegers = ['-1', '1.5', '1e309', 'NaN', 'Infinity', '-Infinity', 'abc', 'null', 'true', '{}', '[]'];
const notRates = ['-1', '1e309', 'NaN', 'Infinity', '-Infinity', 'abc', 'null', 'true', '{}', '[]'];
const notPositive = ['-1', '0', '1e309', 'NaN', 'Infinity', '-Infinity', 'abc', 'true'];

function setCases(): Case[] {
  const cases: Case[] = [];
  const show = (set: string) => ['show', 'gd-catapult', '--set', set];
  for (const key of integerKeys) for (const v of notIntegers) cases.push({ what: `--set ${key}=${v}`, args: show(`${key}=${v}`), names: key });
  for (const v of notRates) cases.push({ what: `--set schedule.lr=${v}`, args: show(`schedule.lr=${v}`), names: 'schedule.lr' });
  for (const key of ['stopAtLoss', 'divergeAbove']) for (const v of notPositive) cases.push({ what: `--set ${key}=${v}`, args: show(`${key}=${v}`), names: key });
  for (const v of ['-0.1', 'true', '"0.1"', '1e309', 'NaN']) cases.push({ what: `--set data.noise=${v}`, args: show(`data.noise=${v}`), names: 'data.noise' });
  // The model, checked against the data's shapes when the config is (show runs nothing).
  for (const [set, names] of [['model.hidden=-1', 'model.hidden[0]'], ['model.hidden=1.5', 'model.hidden[0]'], ['model.hidden=abc', 'model.hidden'], ['model.frozen=[5]', 'model.frozen'], ['model.frozen=[0,1]', 'every layer is frozen'], ['model.sigma=abc', 'model.sigma'], ['model.sigma=0', 'model.sigma'], ['model.hiddenBias=-1', 'model.hiddenBias'], ['model.outputBias=1e309', 'model.outputBias'], ['model.parameterization=mup', 'model.parameterization']]) {
    cases.push({ what: `--set ${set}`, args: show(set), names });
  }
  // Unknown keys, prototype names among them, at each depth.
  for (const [key, named] of [['nosuch', 'nosuch'], ['stpes', 'stpes'], ['constructor', 'constructor'], ['toString', 'toString'], ['hasOwnProperty', 'hasOwnProperty'], ['model.width', 'width'], ['data.prototype', 'prototype'], ['optimizer.betas', 'betas'], ['tracking.nosuch', 'nosuch'], ['schedule.lrr', 'lrr']]) {
    cases.push({ what: `--set ${key} (unknown key)`, args: show(`${key}=3`), names: named });
  }
  // Enumerations and strings where a choice is required.
  for (const [key, v] of [['loss', 'l1'], ['optimizer.name', 'lion'], ['schedule.kind', 'warp'], ['lrUnit', 'furlong'], ['data.kind', 'imagenet'], ['data.task', 'rank-9'], ['model.kind', 'resnet']]) {
    cases.push({ what: `--set ${key}=${v}`, args: show(`${key}=${v}`), names: key.split('.').pop()! });
  }
  // Optimizer hyperparameters: lengths, ranges, types.
  const adam = (set: string) => ['show', 'gd-catapult', '--set', 'optimizer.name=adam', '--set', set];
  for (const v of ['[0.9]', '[0.9,1]', '[]', '[0.9,0.99,0.5]', '"x"', '[-0.1,0.9]']) cases.push({ what: `adam betas ${v}`, args: adam(`optimizer.betas=${v}`), names: 'optimizer.betas' });
  for (const v of ['1e309', '-1', 'NaN', 'true']) cases.push({ what: `adam eps ${v}`, args: adam(`optimizer.eps=${v}`), names: 'optimizer.eps' });
  for (const v of ['yes', '1', 'null']) cases.push({ what: `adam amsgrad ${v}`, args: adam(`optimizer.amsgrad=${v}`), names: 'optimizer.amsgrad' });
  const sgd = (set: string) => ['show', 'gd-catapult', '--set', 'optimizer.name=sgd', '--set', 'batchSize=32', '--set', set];
  for (const v of ['-0.5', 'Infinity', '"0.9"']) cases.push({ what: `sgd momentum ${v}`, args: sgd(`optimizer.momentum=${v}`), names: 'optimizer.momentum' });
  cases.push({ what: 'sgd nesterov "on"', args: sgd('optimizer.nesterov=on'), names: 'optimizer.nesterov' });
  // Convergence: the batch solver and the tolerance that marks an eigenvalue as not converged.
  for (const v of ['fast', 'EXACT', '1', 'null']) cases.push({ what: `--set tracking.batch.solver=${v}`, args: show(`tracking.batch.solver=${v}`), names: 'tracking.batch.solver' });
  for (const v of ['0', '1', '-1e-3', 'abc', 'NaN', '1e309', 'true']) cases.push({ what: `--set tracking.tolerance=${v}`, args: show(`tracking.tolerance=${v}`), names: 'tracking.tolerance' });
  for (const v of ['fast', '{}', '0']) cases.push({ what: `--set tracking.preconditioned.solver=${v}`, args: ['show', 'adagrad-catapults', '--set', `tracking.preconditioned.solver=${v}`], names: 'tracking.preconditioned.solver' });
  cases.push({ what: 'tracking.preconditioned.every=0', args: ['show', 'adagrad-catapults', '--set', 'tracking.preconditioned.every=0'], names: 'tracking.preconditioned.every' });
  cases.push({ what: 'tracking.preconditioned.nosuch', args: ['show', 'adagrad-catapults', '--set', 'tracking.preconditioned.nosuch=1'], names: 'nosuch' });
  for (const key of ['match', 'trace']) {
    for (const v of ['0', '-1', '1.5', 'abc', '{}']) cases.push({ what: `tracking.${key}.every=${v}`, args: ['show', 'sgd-spikes', '--set', `tracking.${key}.every=${v}`], names: `tracking.${key}.every` });
    cases.push({ what: `tracking.${key}.nosuch`, args: ['show', 'sgd-spikes', '--set', `tracking.${key}.nosuch=1`], names: 'nosuch' });
    cases.push({ what: `tracking.${key} not an object`, args: ['show', 'sgd-spikes', '--set', `tracking.${key}=1`], names: `tracking.${key}` });
  }
  cases.push({ what: 'tracking.trace without a tracked set', args: ['show', 'sgd-spikes', '--set', 'tracking={"batch":{},"trace":{}}'], names: 'tracking.trace' });
  cases.push({ what: 'photos with an MNIST file key', args: ['show', 'sgd-spikes', '--set', 'data.kind=photos', '--set', 'data.images=x.gz'], names: 'images' });
  cases.push({ what: 'photos with CIFAR files', args: ['show', 'sgd-spikes', '--set', 'data.kind=photos', '--set', 'data.files=a.bin'], names: 'files' });
  for (const v of ['-1', 'NaN', 'abc']) cases.push({ what: `a CNN's model.outputBias=${v}`, args: ['show', 'sgd-spikes-cnn', '--set', `model.outputBias=${v}`], names: 'model.outputBias' });
  cases.push({ what: 'a CIFAR-10 file list that is empty', args: ['show', 'sgd-spikes', '--set', 'data.kind=cifar10', '--set', 'data.files=[]'], names: 'data.files' });
  cases.push({ what: 'a CIFAR-10 file that is a number', args: ['show', 'sgd-spikes', '--set', 'data.kind=cifar10', '--set', 'data.files=7'], names: 'data.files' });
  for (const name of ['sgd', 'gd']) cases.push({ what: `tracking.preconditioned with ${name}`, args: ['show', 'adagrad-catapults', '--set', `optimizer={"name":"${name}"}`], names: 'tracking.preconditioned' });
  // A rate that follows the live η_crit.
  const live = (schedule: string, ...more: string[]) => ['show', 'gd-catapult', '--set', `schedule=${schedule}`, '--set', 'lrUnit=absolute', ...more.flatMap((m) => ['--set', m])];
  for (const [schedule, names] of [
    ['{"kind":"eta-crit","of":"set"}', 'schedule.factor'],
    ['{"kind":"eta-crit","of":"net","factor":1}', 'schedule.of'],
    ['{"kind":"eta-crit","of":"set","factor":0}', 'schedule.factor'],
    ['{"kind":"eta-crit","of":"set","factor":-1}', 'schedule.factor'],
    ['{"kind":"eta-crit","of":"set","factor":1,"raises":[[5]]}', 'schedule.raises'],
    ['{"kind":"eta-crit","of":"set","factor":1,"raises":[[5,0]]}', 'schedule.raises'],
    ['{"kind":"eta-crit","of":"set","factor":1,"raises":[[-1,2]]}', 'schedule.raises'],
    ['{"kind":"eta-crit","of":"set","factor":1,"raises":[[9,2],[3,2]]}', 'schedule.raises'],
    ['{"kind":"eta-crit","of":"set","factor":1,"after":"x"}', 'schedule.after'],
    ['{"kind":"eta-crit","of":"set","factor":1,"maxHold":0}', 'schedule.maxHold'],
    ['{"kind":"eta-crit","of":"set","factor":1,"hold":3}', 'hold'],
    ['{"kind":"eta-crit","of":"batch","factor":1}', 'tracking.batch'],
    ['{"kind":"decay","schedule":{"kind":"eta-crit","of":"set","factor":1},"at":[3],"factor":0.5}', 'schedule.schedule'],
  ]) cases.push({ what: `schedule ${schedule}`, args: live(schedule), names });
  cases.push({ what: 'an eta-crit rate in units of η_crit(init)', args: ['show', 'gd-catapult', '--set', 'schedule={"kind":"eta-crit","of":"set","factor":1}'], names: 'lrUnit' });
  cases.push({ what: 'an eta-crit rate of the batch solved on the host', args: live('{"kind":"eta-crit","of":"batch","factor":1}', 'tracking.batch.solver=exact'), names: 'tracking.batch.solver' });
  cases.push({ what: 'an exact batch solve of a kernel that is never formed', args: ['show', 'gd-catapult', '--set', 'tracking.batch.solver=exact', '--set', 'tracking.batch.method=matrix-free'], names: 'tracking.batch.solver' });
  // Prototype names as the value of a choice: never an entry of the table of choices.
  for (const key of ['optimizer.name', 'schedule.kind', 'data.kind', 'model.kind', 'tracking.set.method', 'tracking.batch.solver', 'loss', 'lrUnit', 'data.task']) {
    for (const v of ['toString', '__proto__', 'constructor']) cases.push({ what: `--set ${key}=${v}`, args: show(`${key}=${v}`), names: v });
  }
  // The form of an assignment itself.
  for (const set of ['=3', 'steps', 'steps=', 'a..b=1', '.steps=1', '__proto__.x=1', 'schedule.lr=[1,', 'model.hidden={"a":']) cases.push({ what: `--set "${set}"`, args: show(set), names: set.split('=')[0] || set });
  return cases;
}

function optionCases(): Case[] {
  const cases: Case[] = [];
  for (const v of ['-1', '1.5', 'abc', '1e309', '4294967296', '0x10', '']) cases.push({ what: `run --seed ${v}`, args: ['run', 'gd-catapult', '--seed', v, '--no-report', '--out', join(dir, 'never')], names: '--seed' });
  for (const v of ['huge', 'Quick', '']) cases.push({ what: `--scale ${v}`, args: ['show', 'gd-catapult', '--scale', v], names: '--scale' });
  for (const v of ['__proto__', 'toString', 'constructor', 'nope']) cases.push({ what: `--variant ${v}`, args: ['show', 'gd-catapult', '--variant', v], names: v });
  // A preset that has variants: its table must not answer to prototype names either (toString used to crash).
  for (const v of ['__proto__', 'toString', 'constructor', 'hasOwnProperty']) cases.push({ what: `cyclic-lr --variant ${v}`, args: ['show', 'cyclic-lr', '--variant', v], names: `no variant "${v}"` });
  for (const v of ['nope', '__proto__', 'toString', 'GD-CATAPULT']) cases.push({ what: `preset ${v}`, args: ['show', v], names: v });
  for (const v of ['a', '-1', '1.5', '1,,x']) cases.push({ what: `--save-at ${v}`, args: ['run', 'gd-catapult', '--save-at', v, '--out', join(dir, 'never')], names: '--save-at' });
  for (const v of ['gpu', 'toString', 'LAVAPIPE']) cases.push({ what: `--adapter ${v}`, args: ['demo', '--adapter', v], names: v });
  for (const v of ['0', '-2', 'x', '2.5']) cases.push({ what: `sweep --seeds ${v}`, args: ['sweep', 'gd-catapult', '--grid', 'schedule.lr=1,2', '--seeds', v], names: '--seeds' });
  for (const v of ['x', '=1,2', 'schedule.lr=']) cases.push({ what: `--grid ${v}`, args: ['sweep', 'gd-catapult', '--grid', v], names: '--grid' });
  cases.push({ what: 'sweep of a preset without its own sweep and no --grid', args: ['sweep', 'gd-catapult'], names: 'gd-catapult' });
  for (const v of ['0/2', '3/2', '1/0', 'x', '1/2/3', '-1/2', '1/']) cases.push({ what: `--shard ${v}`, args: ['sweep', 'gd-catapult', '--grid', 'schedule.lr=1,2', '--shard', v], names: '--shard' });
  // --merge: folders that are no sweep, or of different plans; and nothing to merge.
  const plan = (lr: number) => JSON.stringify({ preset: 'gd-catapult', scale: 'quick', grid: { 'schedule.lr': [lr] }, seeds: 1, set: [], combos: [{ label: `schedule.lr=${lr}`, folder: `schedule.lr=${lr}`, assignments: [['schedule.lr', lr]] }] });
  const [p1, p2, noSweep] = [folder('merge-a', { 'sweep.json': plan(1) }), folder('merge-b', { 'sweep.json': plan(2) }), folder('merge-none', {})];
  cases.push({ what: 'sweep --merge of no folder', args: ['sweep', '--merge'], names: 'sweep --merge takes the sweep folders' });
  cases.push({ what: 'sweep --merge of a folder without sweep.json', args: ['sweep', '--merge', noSweep], names: `--merge ${noSweep}: no sweep.json there` });
  cases.push({ what: 'sweep --merge of two different plans', args: ['sweep', '--merge', p1, p2, '--no-report', '--out', join(dir, 'merged')], names: 'is another sweep than' });
  cases.push({ what: 'sweep --merge of a bad sweep.json', args: ['sweep', '--merge', folder('merge-bad', { 'sweep.json': '{"preset": 1}' })], names: 'sweep.json: preset' });
  // catapult lab: the folder and the port (a lab that starts would serve until Ctrl-C: none of these start).
  cases.push({ what: 'lab of a folder that does not exist', args: ['lab', join(dir, 'no-runs-here')], names: 'no-runs-here does not exist' });
  cases.push({ what: 'lab of a file', args: ['lab', file('lab-file.txt', 'x')], names: 'is a file' });
  cases.push({ what: 'lab of two folders', args: ['lab', dir, dir], names: 'lab takes one folder' });
  for (const v of ['-1', 'x', '1.5', '65536', '']) cases.push({ what: `lab --port ${v}`, args: ['lab', dir, '--port', v], names: '--port' });
  cases.push({ what: 'lab --frob (unknown option)', args: ['lab', dir, '--frob'], names: '--frob' });
  cases.push({ what: 'help of an unknown command', args: ['help', 'frob'], names: 'help: unknown command "frob"' });
  cases.push({ what: 'schema with an argument', args: ['schema', '--pretty'], names: '--pretty' });
  for (const v of ['--frob', '--seeds']) cases.push({ what: `run ${v} (unknown option)`, args: ['run', 'gd-catapult', v, '1'], names: v });
  for (const [what, args, names] of [
    ['an unknown command', ['frobnicate'], 'frobnicate'],
    ['no command', [], 'no command'],
    ['show without a preset', ['show'], 'show takes one preset'],
    ['show with two presets', ['show', 'gd-catapult', 'sgd-spikes'], 'show takes one preset'],
    ['run without a preset', ['run'], 'run takes one preset'],
    ['report without a folder', ['report'], 'report takes one folder'],
    ['train without a config', ['train'], 'run takes one preset'],
    ['demo --width wide', ['demo', '--width', 'wide'], '--width'],
    ['demo --n 0', ['demo', '--n', '0'], '--n'],
    ['train --steps (run has no such option)', ['train', 'examples/rank2-gd.json', '--steps', '3'], '--steps'],
    ['--scale for a config file', ['run', 'examples/rank2-gd.json', '--scale', 'paper'], '--scale paper'],
    ['--variant for a config file', ['run', 'examples/rank2-gd.json', '--variant', 'x'], '--variant x'],
    ['--data for a preset', ['run', 'gd-catapult', '--data', 'x.npy,y.npy'], '--data'],
    ['--data for a config file', ['run', 'examples/rank2-gd.json', '--data', 'x.npy,y.npy'], '--data'],
    ['an unknown preset that is no file either', ['run', 'gd-catapul'], 'unknown preset "gd-catapul"'],
    // Parameters no device can hold in one binding (> 4 GiB): the config's to change, not a crash.
    ['a model too large for the device', ['run', 'gd-catapult', '--set', 'model.hidden=20000000', '--set', 'steps=1', '--no-report', '--out', join(dir, 'too-large')], 'buffer "parameters" needs'],
  ] as [string, string[], string][]) {
    cases.push({ what, args, names });
  }
  return cases;
}

function configFileCases(): Case[] {
  const valid = JSON.parse(readFileSync('examples/rank2-gd.json', 'utf8'));
  const configs: [string, string][] = [
    ['not JSON', '{"steps": '],
    ['an array', '[]'],
    ['null', 'null'],
    ['a number', '5'],
    ['empty', ''],
    ['an unknown key', JSON.stringify({ ...valid, stpes: 3 })],
    ['batchSize "all"', JSON.stringify({ ...valid, batchSize: 'all' })],
    ['steps as a string', JSON.stringify({ ...valid, steps: '10' })],
    ['no data', JSON.stringify({ ...valid, data: undefined })],
    ['a model of an unknown kind', JSON.stringify({ ...valid, model: { kind: 'resnet' } })],
  ];
  const cases: Case[] = configs.map(([what, text], i) => ({ what: `config file: ${what}`, args: ['run', file(`config-${i}.json`, text), '--out', join(dir, `config-run-${i}`)], names: `config-${i}.json` }));
  cases.push({ what: 'config file: no such file', args: ['run', join(dir, 'missing.json')], names: 'missing.json' });
  mkdirSync(join(dir, 'a-folder.json'));
  spawnSync('mkfifo', [join(dir, 'a-fifo.json')]);
  cases.push({ what: 'config file: a FIFO (it must not hang)', args: ['run', join(dir, 'a-fifo.json')], names: 'a-fifo.json: not a regular file' });
  cases.push({ what: 'config file: a folder named .json', args: ['run', join(dir, 'a-folder.json')], names: 'a-folder.json: a folder, not a file' });
  return cases;
}

/** ONNX models and .npy arrays given to `catapult run MODEL.onnx --data X.npy,Y.npy`. */
function onnxCases(): Case[] {
  const x = file('x.npy', npyBytes([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [2, 3]));
  const y = file('y.npy', npyBytes([1, -1, -1, 1], [2, 2]));
  const good = onnxBytes(MLP);
  const models: [string, Uint8Array | string, string][] = [
    ['an empty file', '', 'empty'],
    ['random bytes', Uint8Array.from({ length: 512 }, (_, i) => (i * 2654435761) >>> 24), 'random'],
    ['JSON', '{"graph": {}}', 'json'],
    ['a truncated model', good.subarray(0, Math.floor(good.length / 2)), 'truncated'],
    ['an unknown operator', onnxBytes({ ...MLP, nodes: MLP.nodes.map((n) => (n.op === 'Relu' ? { ...n, op: 'Softmax', name: 'act' } : n)) }), 'node "act" (Softmax): Softmax is not supported'],
    ['max-pooling a vector', onnxBytes({ ...MLP, nodes: MLP.nodes.map((n) => (n.op === 'Relu' ? { ...n, op: 'MaxPool', name: 'pool', attributes: { kernel_shape: [2, 2] } } : n)) }), 'node "pool" (MaxPool): reads a tensor of rank 2'],
    ['max-pooling with the argmax as an output', onnxBytes({ nodes: [{ op: 'MaxPool', inputs: ['x'], outputs: ['p', 'idx'], attributes: { kernel_shape: [2, 2], strides: [2, 2] }, name: 'mp' }, { op: 'Flatten', inputs: ['p'], outputs: ['y'] }], input: ['N', 1, 2, 4] }), 'node "mp" (MaxPool): also gives the argmax Indices'],
    ['a custom operator domain', onnxBytes({ ...MLP, nodes: MLP.nodes.map((n) => (n.op === 'Relu' ? { ...n, domain: 'com.example', name: 'mine' } : n)) }), 'node "mine" (Relu): is of operator domain "com.example"'],
    ['weights in an external data file', onnxBytes({ ...MLP, external: 'fc2.weight' }), 'initializer "fc2.weight" keeps its data in an external file'],
    ['a cycle (a node reads what a later node makes)', onnxBytes({ ...MLP, nodes: [MLP.nodes[1], MLP.nodes[0], MLP.nodes[2]] }), 'which no earlier node produces'],
    ['an input without a shape', onnxBytes({ ...MLP, input: null }), 'its input "x" has no shape'],
    ['a dynamic feature dimension', onnxBytes({ ...MLP, input: ['N', 'features'] }), 'only the batch dimension (the first) may be dynamic'],
    ['two inputs', onnxBytes({ ...MLP, inputs: ['x', 'z'] }), 'the graph has 2 inputs (x, z)'],
    ['an input of rank 5', onnxBytes({ ...MLP, input: ['N', 1, 1, 1, 3] }), 'has rank 5'],
    ['a weight whose data does not fill its shape', onnxBytes({ ...MLP, weights: { ...MLP.weights, 'fc1.weight': [[4, 3], [1, 2, 3, 4, 5]] } }), 'initializer "fc1.weight": its shape [4,3] holds 12 values, its data has 5'],
    ['tied weights', onnxBytes({ ...MLP, nodes: [MLP.nodes[0], MLP.nodes[1], { op: 'Gemm', inputs: ['r', 'fc1.weight'], outputs: ['y'], attributes: { transB: 0 }, name: 'tied' }], weights: { ...MLP.weights, 'fc1.weight': [[4, 4], Array(16).fill(0.1)] }, input: ['N', 4] }), 'is a parameter of two layers'],
    ['Gemm with transA', onnxBytes({ ...MLP, nodes: [{ ...MLP.nodes[0], name: 'ta', attributes: { transA: 1, transB: 1 } }, ...MLP.nodes.slice(1)] }), 'node "ta" (Gemm): has transA = 1'],
    ['a weight computed in the graph', onnxBytes({ ...MLP, nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['rx'] }, { op: 'Gemm', inputs: ['x', 'rx'], outputs: ['y'], name: 'g' }] }), 'node "g" (Gemm): its weight B ("rx") must be an initializer'],
    ['batch norm in training mode', onnxBytes({ ...MLP, nodes: [MLP.nodes[0], { op: 'BatchNormalization', inputs: ['h', 's', 'b', 'm', 'v'], outputs: ['r'], attributes: { training_mode: 1 }, name: 'bn' }, MLP.nodes[2]], weights: { ...MLP.weights, s: [[4], [1, 1, 1, 1]], b: [[4], [0, 0, 0, 0]], m: [[4], [0, 0, 0, 0]], v: [[4], [1, 1, 1, 1]] } }), 'node "bn" (BatchNormalization): is in training mode'],
    ['a constant added after an activation', onnxBytes({ ...MLP, nodes: [MLP.nodes[0], MLP.nodes[1], { op: 'Add', inputs: ['r', 'c'], outputs: ['rc'], name: 'shift' }, { ...MLP.nodes[2], inputs: ['rc', 'fc2.weight', 'fc2.bias'] }], weights: { ...MLP.weights, c: [[4], [1, 1, 1, 1]] } }), 'node "shift" (Add): adds a constant that is not the bias'],
    ['a grouped convolution', onnxBytes({ nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['c'], attributes: { group: 2 }, name: 'gconv' }, { op: 'Flatten', inputs: ['c'], outputs: ['y'] }], weights: { w: [[2, 1, 1, 1], [1, 1]] }, input: ['N', 2, 1, 1] }), 'node "gconv" (Conv): has group = 2'],
    ['a dilated convolution', onnxBytes({ nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['c'], attributes: { dilations: [2, 2] }, name: 'dconv' }, { op: 'Flatten', inputs: ['c'], outputs: ['y'] }], weights: { w: [[1, 3, 1, 1], [1, 1, 1]] }, input: ['N', 3, 1, 1] }), 'node "dconv" (Conv): has dilations [2,2]'],
    ['asymmetric padding', onnxBytes({ nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['c'], attributes: { pads: [1, 0, 0, 1] }, name: 'pconv' }, { op: 'Flatten', inputs: ['c'], outputs: ['y'] }], weights: { w: [[1, 3, 1, 1], [1, 1, 1]] }, input: ['N', 3, 1, 1] }), 'only the same padding on every side'],
  ];
  const cases: Case[] = models.map(([what, bytes, names], i) => {
    const path = file(`model-${i}.onnx`, bytes);
    return { what: `ONNX model: ${what}`, args: ['run', path, '--data', `${x},${y}`, '--no-report', '--out', join(dir, `onnx-run-${i}`)], names: i < 4 ? `model-${i}.onnx` : names };
  });
  const model = file('mlp.onnx', good);
  const f32 = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer);
  const arrays: [string, Uint8Array | string, Uint8Array | string, string][] = [
    ['inputs that are not .npy', 'x,y\n1,2', npyBytes([1, -1, -1, 1], [2, 2]), 'is not a .npy file'],
    ['inputs in Fortran order', rawNpy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", f32([1, 2, 3, 4, 5, 6])), npyBytes([1, -1, -1, 1], [2, 2]), 'is in Fortran order'],
    ['big-endian inputs', rawNpy("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", f32([1, 2, 3, 4, 5, 6])), npyBytes([1, -1, -1, 1], [2, 2]), 'has dtype >f4'],
    ['inputs of Python objects', rawNpy("{'descr': '|O', 'fortran_order': False, 'shape': (2, 3), }", f32([1, 2, 3, 4, 5, 6])), npyBytes([1, -1, -1, 1], [2, 2]), 'has dtype |O'],
    ['inputs cut short', rawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f32([1, 2, 3])), npyBytes([1, -1, -1, 1], [2, 2]), 'needs 24 bytes of data, the file has 12'],
    ['a header that is not NumPy\'s dict', rawNpy("print('hello')", f32([1])), npyBytes([1, -1, -1, 1], [2, 2]), 'its header is not the dict NumPy writes'],
    ['a .npy format version 9', rawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f32([1, 2, 3, 4, 5, 6]), 9), npyBytes([1, -1, -1, 1], [2, 2]), 'format version 9'],
    ['inputs of rank 1', npyBytes([1, 2, 3], [3]), npyBytes([1, -1, -1], [3]), 'inputs are [N, d], [N, c, l] or [N, c, h, w]'],
    ['targets for another number of examples', npyBytes([1, 2, 3, 4, 5, 6], [2, 3]), npyBytes([1, -1, -1, 1, 1, 1], [3, 2]), 'has 2 examples, data.y'],
    ['targets of rank 3', npyBytes([1, 2, 3, 4, 5, 6], [2, 3]), npyBytes([1, -1, -1, 1], [2, 2, 1]), 'targets are [N] or [N, k]'],
    ['a NaN among the inputs', npyBytes([1, NaN, 3, 4, 5, 6], [2, 3]), npyBytes([1, -1, -1, 1], [2, 2]), 'value 1 is NaN'],
    ['inputs of another width than the model takes', npyBytes([1, 2, 3, 4, 5, 6, 7, 8], [2, 4]), npyBytes([1, -1, -1, 1], [2, 2]), 'takes examples of 3'],
    ['targets of another width than the model gives', npyBytes([1, 2, 3, 4, 5, 6], [2, 3]), npyBytes([1, -1, -1, 1, 1, 1], [2, 3]), 'gives 2 outputs per example, the data has 3 targets'],
  ];
  arrays.forEach(([what, xs, ys, names], i) => {
    const xi = file(`x-${i}.npy`, xs);
    const yi = file(`y-${i}.npy`, ys);
    cases.push({ what: `arrays: ${what}`, args: ['run', model, '--data', `${xi},${yi}`, '--no-report', '--out', join(dir, `arrays-run-${i}`)], names });
  });
  cases.push({ what: 'an ONNX model without --data', args: ['run', model], names: '--data X.npy,Y.npy' });
  cases.push({ what: 'an ONNX model with one --data file', args: ['run', model, '--data', x], names: '--data X.npy,Y.npy' });
  cases.push({ what: 'an ONNX model whose --data file is missing', args: ['run', model, '--data', `${join(dir, 'nox.npy')},${y}`], names: 'nox.npy: no such file' });
  spawnSync('mkfifo', [join(dir, 'fifo.onnx')]);
  cases.push({ what: 'an ONNX model that is a FIFO (it must not hang)', args: ['run', join(dir, 'fifo.onnx'), '--data', `${x},${y}`, '--out', join(dir, 'fifo-run')], names: 'fifo.onnx: not a regular file' });
  cases.push({ what: 'an ONNX model that is missing', args: ['run', join(dir, 'nomodel.onnx'), '--data', `${x},${y}`, '--out', join(dir, 'nomodel-run')], names: 'nomodel.onnx: no such file' });
  const config = file('onnx-config.json', JSON.stringify({ data: { kind: 'arrays', x, y, train: 2 }, model: { kind: 'onnx', file: join(dir, 'gone.onnx') }, loss: 'mse', optimizer: { name: 'sgd' }, schedule: { kind: 'constant', lr: 0.1 }, batchSize: 'full', steps: 1, seed: 0 }));
  cases.push({ what: 'a config whose ONNX model is missing', args: ['run', config, '--out', join(dir, 'gone-run')], names: 'gone.onnx: no such file' });
  const unknownKey = file('onnx-key.json', JSON.stringify({ data: { kind: 'arrays', x, y, train: 2 }, model: { kind: 'onnx', file: model, sigma: 2 }, loss: 'mse', optimizer: { name: 'sgd' }, schedule: { kind: 'constant', lr: 0.1 }, batchSize: 'full', steps: 1, seed: 0 }));
  cases.push({ what: 'an ONNX model config with a key it does not take', args: ['run', unknownKey, '--out', join(dir, 'key-run')], names: 'sigma' });
  return cases;
}

function resumeCases(): Case[] {
  const files: [string, Uint8Array | string][] = [
    ['empty', ''],
    ['7 bytes', 'abcdefg'],
    ['JSON, not safetensors', '{"format": "catapult-lab checkpoint 1"}'],
    ['random bytes', Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24)],
    ['a header of the wrong length', Uint8Array.from([16, 0, 0, 0, 0, 0, 0, 0, 123, 125])],
    ['a safetensors file of another program', (() => {
      const header = new TextEncoder().encode('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}');
      const f = new Uint8Array(8 + header.length + 4);
      new DataView(f.buffer).setBigUint64(0, BigInt(header.length), true);
      f.set(header, 8);
      return f;
    })()],
  ];
  const cases: Case[] = files.map(([what, bytes], i) => ({ what: `--resume: ${what}`, args: ['run', '--resume', file(`ck-${i}.safetensors`, bytes), '--out', join(dir, `resumed-${i}`)], names: `ck-${i}.safetensors` }));
  cases.push({ what: '--resume: no such file', args: ['run', '--resume', join(dir, 'none.safetensors')], names: 'none.safetensors' });
  cases.push({ what: '--resume: a folder', args: ['run', '--resume', dir], names: dir });
  return cases;
}

/** A valid run folder (a summary and metrics as `catapult run` writes them), made without a GPU. */
function goodSummary(): Record<string, unknown> {
  return {
    preset: 'gd-catapult', paper: 'Fig. 2', summaryText: 'one catapult', variant: null, scale: 'quick', seed: 0, adapter: 'test', adapterInfo: {}, codeVersion: 'test',
    seconds: 1.5, status: 'completed', steps: 3, headline: { spikes: 1, finalLoss: 0.5 }, criticalSteps: [1],
    spikes: [{ start: 0, peak: 1, end: 2, startLoss: 1, peakLoss: 4, height: 3, ratio: 4, duration: 2, lambdaBefore: 9, lambdaAfter: 3, lambdaDrop: 6 }],
    notes: ['a note'], config: resolvePreset('gd-catapult') as unknown as Record<string, unknown>,
  };
}
const goodMetrics = () => metricsJsonLines([{ step: 0, lr: 1, loss: 1 }, { step: 1, lr: 1, loss: 4 }, { step: 2, lr: 1, loss: 0.5 }], [{ step: 3, trainLoss: 0.5 }]);

function folder(name: string, files: Record<string, string | null>): string {
  const path = join(dir, name);
  mkdirSync(path, { recursive: true });
  for (const [f, text] of Object.entries(files)) {
    if (text === null) mkdirSync(join(path, f));
    else writeFileSync(join(path, f), text);
  }
  return path;
}

function reportCases(): Case[] {
  const s = goodSummary();
  const summaries: [string, unknown, string][] = [
    ['an array', [], 'expected object'],
    ['null', null, 'expected object'],
    ['steps as text', { ...s, steps: 'ten' }, 'steps'],
    ['a negative seed', { ...s, seed: -1 }, 'seed'],
    ['an unknown status', { ...s, status: 'won' }, 'status'],
    ['spikes not a list', { ...s, spikes: 5 }, 'spikes'],
    ['a spike without its peak', { ...s, spikes: [{ ...(s.spikes as object[])[0], peak: undefined }] }, 'spikes[0].peak'],
    ['a headline of markup', { ...s, headline: { spikes: { html: '<b>' } } }, 'headline.spikes'],
    ['notes not a list', { ...s, notes: 'x' }, 'notes'],
    ['criticalSteps of text', { ...s, criticalSteps: ['1'] }, 'criticalSteps[0]'],
    ['an unknown key', { ...s, extra: 1 }, 'unknown key "extra"'],
    ['no config', { ...s, config: undefined }, 'config'],
  ];
  const cases: Case[] = summaries.map(([what, json, names], i) => ({ what: `summary.json: ${what}`, args: ['report', folder(`run-s${i}`, { 'summary.json': JSON.stringify(json), 'metrics.jsonl': goodMetrics() })], names: names.startsWith('unknown') ? names : `summary.json: ${names}` }));
  const raw: [string, Record<string, string | null>, string][] = [
    ['summary.json not JSON', { 'summary.json': '{"preset":', 'metrics.jsonl': goodMetrics() }, 'summary.json is not JSON'],
    ['summary.json empty', { 'summary.json': '' }, 'summary.json is not JSON'],
    ['summary.json a folder', { 'summary.json': null }, 'summary.json: a folder'],
    ['no summary.json', { 'metrics.jsonl': goodMetrics() }, 'has no summary.json'],
    ['metrics.jsonl a folder', { 'summary.json': JSON.stringify(s), 'metrics.jsonl': null }, 'metrics.jsonl: a folder'],
    ['a metrics line not JSON', { 'summary.json': JSON.stringify(s), 'metrics.jsonl': `garbage\n${goodMetrics()}` }, 'metrics.jsonl line 1 is not JSON'],
    ['a metrics line without a step', { 'summary.json': JSON.stringify(s), 'metrics.jsonl': '{"type":"step","lr":1,"loss":1}\n' }, 'line 1: step'],
    ['a metrics line of another type', { 'summary.json': JSON.stringify(s), 'metrics.jsonl': '{"type":"log","step":0}\n' }, 'line 1: type'],
    ['a loss of markup', { 'summary.json': JSON.stringify(s), 'metrics.jsonl': '{"type":"step","step":0,"lr":1,"loss":"<img>"}\n' }, 'line 1: loss'],
    ['a loss of "inf"', { 'summary.json': JSON.stringify(s), 'metrics.jsonl': '{"type":"step","step":0,"lr":1,"loss":"inf"}\n' }, 'line 1: loss'],
    ['a fractional step', { 'summary.json': JSON.stringify(s), 'metrics.jsonl': '{"type":"eval","step":0.5,"trainLoss":1}\n' }, 'line 1: step'],
  ];
  raw.forEach(([what, files, names], i) => cases.push({ what: `run folder: ${what}`, args: ['report', folder(`run-r${i}`, files)], names }));
  const sweep = { preset: 'gd-catapult', scale: 'quick', grid: { 'schedule.lr': [1, 2] }, seeds: 1, set: [], combos: [{ label: 'schedule.lr=1', folder: 'schedule.lr=1' }] };
  const sweeps: [string, Record<string, string | null>, string][] = [
    ['sweep.json not JSON', { 'sweep.json': '{' }, 'sweep.json is not JSON'],
    ['combos not a list', { 'sweep.json': JSON.stringify({ ...sweep, combos: 5 }) }, 'sweep.json: combos'],
    ['a combination of null', { 'sweep.json': JSON.stringify({ ...sweep, combos: [null] }) }, 'sweep.json: combos[0]'],
    ['a combination folder that is a path', { 'sweep.json': JSON.stringify({ ...sweep, combos: [{ label: 'a', folder: '../../etc' }] }) }, '"../../etc" is not a plain folder name'],
    ['seeds 0', { 'sweep.json': JSON.stringify({ ...sweep, seeds: 0 }) }, 'sweep.json: seeds'],
    ['aggregate.json with a header of numbers', { 'sweep.json': JSON.stringify(sweep), 'aggregate.json': JSON.stringify({ header: [1], rows: [], stats: {} }) }, 'aggregate.json: header[0]'],
    ['aggregate.json not JSON', { 'sweep.json': JSON.stringify(sweep), 'aggregate.json': 'x' }, 'aggregate.json is not JSON'],
  ];
  sweeps.forEach(([what, files, names], i) => cases.push({ what: `sweep folder: ${what}`, args: ['report', folder(`sweep-${i}`, files)], names }));
  cases.push({ what: 'report of a file', args: ['report', file('summary.json', JSON.stringify(s))], names: 'is a file' });
  cases.push({ what: 'report of a missing folder', args: ['report', join(dir, 'nowhere')], names: 'nowhere' });
  return cases;
}

// --- the tests ----------------------------------------------------------------------------------------

describe('malformed input to the command line', () => {
  let cases: Case[];
  beforeAll(() => {
    cases = [...setCases(), ...optionCases(), ...configFileCases(), ...onnxCases(), ...resumeCases(), ...reportCases()];
  });

  it('every case of the corpus exits 2 with one message naming the input, and no stack trace', async () => {
    expect(cases.length).toBeGreaterThanOrEqual(150);
    const failures: string[] = [];
    for (const c of cases) {
      const { code, stderr } = await catapult(...c.args);
      const message = stderr.split('\n').find((l) => l.startsWith('catapult: ')) ?? '';
      if (code !== (c.code ?? 2)) failures.push(`${c.what}: exit ${code}, not ${c.code ?? 2}: ${stderr.slice(0, 300)}`);
      else if (!message.includes(c.names)) failures.push(`${c.what}: the message does not name ${JSON.stringify(c.names)}: ${message}`);
      else if (/\n\s+at /.test(stderr) || stderr.includes('internal error')) failures.push(`${c.what}: a stack trace or internal error: ${stderr.slice(0, 300)}`);
    }
    expect(failures).toEqual([]);
  }, 120_000);

  it('an internal fault exits 1 and says it is one, with the stack only under --debug', async () => {
    // A folder whose summary.json is valid but whose report cannot find its own page script is not the
    // user's fault; simulate a fault of ours by a getter that throws inside the report.
    const spy = vi.spyOn(JSON, 'stringify').mockImplementationOnce(() => {
      throw new TypeError('a fault of ours');
    });
    try {
      const plain = await catapult('show', 'gd-catapult');
      expect(plain.code).toBe(1);
      expect(plain.stderr).toMatch(/^catapult: internal error: a fault of ours\n.*not of the input; rerun with --debug/);
      expect(plain.stderr).not.toMatch(/\n\s+at /);
    } finally {
      spy.mockRestore();
    }
    const spy2 = vi.spyOn(JSON, 'stringify').mockImplementationOnce(() => {
      throw new TypeError('a fault of ours');
    });
    try {
      const debug = await catapult('show', 'gd-catapult', '--debug');
      expect(debug.code).toBe(1);
      expect(debug.stderr).toMatch(/TypeError: a fault of ours\n\s+at /);
    } finally {
      spy2.mockRestore();
    }
  });

  it('a summary.json changed at random bytes (seeded) gives a clear error or a report, never a crash', () => {
    const run = folder('mutated', { 'metrics.jsonl': goodMetrics() });
    const text = new TextEncoder().encode(toJson(goodSummary(), 2));
    const rng = new Rng(1201);
    let refused = 0;
    for (let trial = 0; trial < 400; trial++) {
      const bytes = text.slice();
      for (let c = 1 + rng.int(3); c > 0; c--) bytes[rng.int(bytes.length)] = rng.int(256);
      writeFileSync(join(run, 'summary.json'), bytes);
      try {
        expect(runReportHtml(run)).toMatch(/^<!doctype html>/);
      } catch (e) {
        expect(e, `trial ${trial}: ${(e as Error).stack}`).toBeInstanceOf(RangeError);
        expect((e as Error).message).toContain('summary.json');
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(100);
  });

  it('a sweep folder copied with one run damaged reports the damage, naming the run', () => {
    const sweepDir = folder('sweep-ok', { 'sweep.json': JSON.stringify({ preset: 'gd-catapult', scale: 'quick', grid: { 'schedule.lr': [1] }, seeds: 1, set: [], combos: [{ label: 'schedule.lr=1', folder: 'lr1' }] }) });
    const runDir = join(sweepDir, 'lr1', 'seed-0');
    mkdirSync(runDir, { recursive: true });
    writeFileSync(join(runDir, 'summary.json'), JSON.stringify(goodSummary()));
    writeFileSync(join(runDir, 'metrics.jsonl'), '{"type":"step","step":0,"lr":1,"loss":"x"}\n');
    cpSync(sweepDir, join(dir, 'sweep-copy'), { recursive: true });
    return catapult('report', join(dir, 'sweep-copy')).then(({ code, stderr }) => {
      expect(code).toBe(2);
      expect(stderr).toMatch(/lr1\/seed-0\/metrics.jsonl line 1: loss: must be a number/);
    });
  });
});
