import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { catapultHere } from './cli-here.ts';

const catapult = (...args: string[]) => spawnSync(process.execPath, ['bin/catapult.js', ...args], { encoding: 'utf8', timeout: 120_000 });
const withEnv = (env: Record<string, string>, ...args: string[]) =>
  spawnSync(process.execPath, ['bin/catapult.js', ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });

describe('command line', () => {
  it('runs a config file as it runs a preset: the same run folder, named after the file; train is the same command', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'catapult-'));
    for (const command of ['run', 'train']) {
      const out = join(dir, command);
      const r = await catapultHere(command, 'examples/rank2-gd.json', '--set', 'steps=3', '--seed', '4', '--no-report', '--out', out);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/adapter: /);
      expect(r.stdout).toMatch(/status: completed after 3 steps/);
      const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.filter((l) => l.type === 'step').map((l) => l.step)).toEqual([0, 1, 2]);
      expect(lines.filter((l) => l.type === 'eval').length).toBeGreaterThanOrEqual(1);
      const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
      expect(summary).toMatchObject({ preset: 'rank2-gd', paper: 'your config', seed: 4, status: 'completed', steps: 3 });
      expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'))).toMatchObject({ preset: 'rank2-gd', seed: 4 });
    }
    // The default folder is named after the file.
    const cwd = mkdtempSync(join(tmpdir(), 'catapult-cwd-'));
    const named = spawnSync(process.execPath, [join(process.cwd(), 'bin/catapult.js'), 'run', join(process.cwd(), 'examples/rank2-gd.json'), '--set', 'steps=1', '--no-report'], { encoding: 'utf8', timeout: 120_000, cwd });
    expect(named.status, named.stderr).toBe(0);
    expect(existsSync(join(cwd, 'runs', 'rank2-gd-seed0', 'summary.json'))).toBe(true);
    const show = await catapultHere('show', 'examples/rank2-gd.json', '--set', 'steps=9', '--json');
    expect(show.status, show.stderr).toBe(0);
    expect(JSON.parse(show.stdout).steps).toBe(9);
  });

  it('exits 2 with the field and what is allowed for a bad config or argument', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'catapult-'));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...JSON.parse(readFileSync('examples/rank2-gd.json', 'utf8')), batchSize: -3 }));
    const r = await catapultHere('run', bad);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/config .*bad.json: batchSize must be an integer >= 1, got -3/);
    const s = await catapultHere('demo', '--width', 'wide');
    expect(s.status).toBe(2);
    expect(s.stderr).toMatch(/--width must be an integer >= 1, got "wide"/);
    expect((await catapultHere('frobnicate')).status).toBe(2);
  });

  it('a bad graph model exits 2 naming the module and what is allowed, with no stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'catapult-'));
    const config = (layers: unknown[]) => {
      const path = join(dir, `graph-${Math.random().toString(36).slice(2)}.json`);
      const base = { data: { kind: 'mnist', train: 8, classes: [7, 9], targets: 'pm1', downsample: 4 }, loss: 'mse', optimizer: { name: 'sgd' }, schedule: { kind: 'constant', lr: 0.1 }, batchSize: 4, steps: 1, seed: 0 };
      writeFileSync(path, JSON.stringify({ ...base, model: { kind: 'graph', layers } }));
      return path;
    };
    const cases: [unknown[], RegExp][] = [
      [[{ type: 'conv2d', out: 4, kernel: 3 }, { type: 'maxpool', kernel: 2, padding: 2 }], /model.layers\[1\].padding 2 is more than half the window 2/],
      [[{ type: 'conv2d', out: 4, kernel: 3 }, { type: 'dropout' }], /model.layers\[1\]: unknown layer type "dropout"; the types are linear, conv2d, relu, avgpool, maxpool, globalavgpool, flatten, residual, layernorm, gelu, sigmoid, tanh, attention, posembed/],
      [[{ type: 'batchnorm' }], /model.layers\[0\]: batch normalization in training mode couples the examples of a batch/],
      [[{ type: 'residual', main: [{ type: 'conv2d', out: 4, kernel: 3, padding: 1 }] }, { type: 'flatten' }, { type: 'linear' }], /model.layers\[0\] \(residual\): its main branch gives 4×7×7, its shortcut 1×7×7/],
      [[{ type: 'conv2d', out: 4, kernel: 3 }, { type: 'linear' }], /model.layers\[1\] \(linear\) takes a vector, but the layer before gives 4×5×5: put a flatten before it/],
      [[{ type: 'conv2d', out: 4, kernel: 9 }, { type: 'flatten' }, { type: 'linear' }], /model.layers\[0\] \(conv2d\): kernel 9 is larger than its input 1×7×7 with padding 0/],
      [[{ type: 'conv2d', out: 4, kernel: 3, dilation: 2 }], /model.layers\[0\] \(conv2d\): unknown field "dilation"; a conv2d layer takes out, kernel, stride, padding, bias/],
    ];
    for (const [layers, message] of cases) {
      const r = await catapultHere('run', config(layers), '--no-report', '--out', join(dir, 'out'));
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('--resume refuses what would change the saved run, and files that are not checkpoints, with exit 2 naming them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'catapult-resume-'));
    const made = await catapultHere('run', 'gd-catapult', '--set', 'steps=3', '--set', 'model.hidden=16', '--save-at', '2', '--no-report', '--out', dir);
    expect(made.status, made.stderr).toBe(0);
    const ck = join(dir, 'checkpoint-2.safetensors');
    const truncated = join(dir, 'truncated.safetensors');
    writeFileSync(truncated, readFileSync(ck).subarray(0, 2000));
    const cases: [string[], RegExp][] = [
      [['sgd-spikes', '--resume', ck], /the preset "sgd-spikes" disagrees with the checkpoint's "gd-catapult"/],
      [['--resume', ck, '--seed', '5'], /--seed "5" disagrees with the checkpoint's 0/],
      [['--resume', ck, '--scale', 'paper'], /--scale "paper" disagrees with the checkpoint's "quick"/],
      [['--resume', ck, '--set', 'schedule.lr=2'], /--set schedule.lr=2 would change the checkpoint's config/],
      [['--resume', join(dir, 'missing.safetensors')], /missing.safetensors: no such file/],
      [['--resume', dir], /a folder, not a file/],
      [['--resume', truncated], /data_offsets \[\d+, \d+\] are not a range inside|not a safetensors file/],
    ];
    for (const [args, message] of cases) {
      const r = await catapultHere('run', ...args, '--out', join(dir, 'out'));
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    // The checkpoint's own run still resumes.
    const ok = await catapultHere('run', '--resume', ck, '--no-report', '--out', join(dir, 'resumed'));
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/completed after 3 steps/);
  });

  it('a run folder is one process\'s at a time: a live owner refuses the second run, a dead one\'s lock is taken over', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'catapult-lock-'));
    // A process that is gone: one that has run and exited.
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(join(dir, 'run.lock'), `${gone}\n`);
    const taken = catapult('run', 'gd-catapult', '--set', 'steps=2', '--set', 'model.hidden=16', '--no-report', '--out', dir);
    expect(taken.status, taken.stderr).toBe(0);
    expect(taken.stdout).toMatch(new RegExp(`taking over .*run.lock: its process ${gone} is gone`));
    expect(existsSync(join(dir, 'run.lock'))).toBe(false);
    // A lock that names no process (garbage, empty) is taken over too.
    for (const content of ['not a pid', '']) {
      writeFileSync(join(dir, 'run.lock'), content);
      const r = catapult('run', 'gd-catapult', '--set', 'steps=1', '--set', 'model.hidden=16', '--no-report', '--out', dir);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/taking over .*run.lock: it names no process/);
    }
    // A live owner: this test's own process holds the folder.
    writeFileSync(join(dir, 'run.lock'), `${process.pid}\n`);
    const refused = catapult('run', 'gd-catapult', '--set', 'steps=2', '--no-report', '--out', dir);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(new RegExp(`is being written by process ${process.pid} .*run.lock.*: wait for it to finish, or give another --out`));
    expect(readFileSync(join(dir, 'run.lock'), 'utf8').trim()).toBe(String(process.pid));
  });

  it('an --out that cannot be a folder exits 2 naming why, at once (it used to hang under /proc)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'catapult-out-'));
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const cases: [string, RegExp][] = [
      ['/proc/catapult-nope', /--out \/proc\/catapult-nope: cannot create \/proc\/catapult-nope/],
      [file, /is a file, not a folder/],
      [join(file, 'below'), /a-file is a file, not a folder/],
    ];
    for (const [out, message] of cases) {
      for (const command of [['run', 'gd-catapult'], ['sweep', 'gd-catapult', '--grid', 'seed=1']]) {
        const r = await catapultHere(...command, '--set', 'steps=1', '--out', out);
        expect(r.status, `${command[0]} --out ${out}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toMatch(message);
      }
    }
  });

  it('a data file that cannot be used exits 2 naming it and what is wrong, with no stack trace', async () => {
    const { gzipSync } = await import('node:zlib');
    const dir = mkdtempSync(join(tmpdir(), 'catapult-data-'));
    const file = (name: string, bytes: Uint8Array | string) => {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      return path;
    };
    const idx = (magic: number, dims: number[], body: number[]) => {
      const head = new DataView(new ArrayBuffer(4 + 4 * dims.length));
      head.setUint32(0, magic);
      dims.forEach((d, i) => head.setUint32(4 + 4 * i, d));
      return Uint8Array.from([...new Uint8Array(head.buffer), ...body]);
    };
    const images = file('images.idx', idx(0x803, [2, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7]));
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ kind: 'mnist', train: 2, images: join(dir, 'missing.gz') }, /cannot read data file .*missing.gz: no such file/],
      [{ kind: 'mnist', train: 2, images: dir }, /cannot read data file .*: a folder, not a file/],
      [{ kind: 'mnist', train: 2, images: file('empty.gz', '') }, /empty.gz.*0 bytes is shorter than an IDX header/],
      [{ kind: 'mnist', train: 2, images: file('text.idx', 'hello world, not idx') }, /text.idx.*not an IDX file of unsigned bytes/],
      [{ kind: 'mnist', train: 2, images: file('bad.gz', Uint8Array.of(0x1f, 0x8b, 1, 2, 3)) }, /bad.gz/],
      [{ kind: 'mnist', train: 2, images: file('labels-as-images.idx', idx(0x801, [2], [1, 2])) }, /labels-as-images.idx.*a label file/],
      [{ kind: 'mnist', train: 2, images: file('short.idx', idx(0x803, [4, 2, 2], [0, 1, 2])) }, /short.idx/],
      [{ kind: 'mnist', train: 2, images, labels: file('label200.idx', gzipSync(idx(0x801, [2], [200, 1]))) }, /label200.idx.*200/],
      [{ kind: 'mnist', train: 2, images: 0 }, /data.images must be the path or URL of an IDX file \(gzip or raw\), got 0/],
      [{ kind: 'cifar10', train: 1, files: [file('cut.bin', new Uint8Array(3000))] }, /cut.bin: 3000 bytes is not a whole number of 3073-byte records/],
      [{ kind: 'cifar10', train: 1, files: ['http://127.0.0.1:9/batch.bin'] }, /cannot fetch data file http:\/\/127.0.0.1:9\/batch.bin/],
    ];
    for (const [data, message] of cases) {
      const config = file('config.json', JSON.stringify({ data, model: { hidden: [4] }, loss: 'mse', optimizer: { name: 'gd' }, schedule: { kind: 'constant', lr: 0.1 }, batchSize: 'full', steps: 1, seed: 0 }));
      const r = await catapultHere('run', config, '--no-report', '--out', join(dir, 'out'));
      expect(r.status, `${JSON.stringify(data)}: ${r.stderr}`).toBe(2);
      expect(r.stderr, JSON.stringify(data)).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('takes the driver from --adapter, else CATAPULT_ADAPTER, and says which it took and why', () => {
    const one = ['run', 'examples/rank2-gd.json', '--set', 'steps=1', '--no-report', '--out', mkdtempSync(join(tmpdir(), 'catapult-adapter-'))];
    const swift = withEnv({ CATAPULT_ADAPTER: 'swiftshader' }, ...one);
    expect(swift.status, swift.stderr).toBe(0);
    expect(swift.stdout).toMatch(/adapter: .*\(SwiftShader, CPU, node\)/);
    expect(swift.stdout).toMatch(/chosen: SwiftShader forced/);
    // The flag wins over the variable.
    const lvp = withEnv({ CATAPULT_ADAPTER: 'swiftshader' }, ...one, '--adapter', 'lavapipe');
    expect(lvp.status, lvp.stderr).toBe(0);
    expect(lvp.stdout).toMatch(/adapter: .*llvmpipe.*\(lavapipe, CPU, node\)/);
    // auto names the drivers it passed over on the way to the one it took.
    const auto = withEnv({ CATAPULT_ADAPTER: '' }, ...one);
    expect(auto.status, auto.stderr).toBe(0);
    expect(auto.stdout).toMatch(/chosen: (hardware adapter|no hardware adapter: .+; lavapipe \()/);
    // Without a GPU, "hardware" fails with exit 3 and the reason; with one, it is taken.
    const hw = catapult(...one, '--adapter', 'hardware');
    if (hw.status === 0) expect(hw.stdout).toMatch(/\(hardware adapter, node\)/);
    else {
      expect(hw.status).toBe(3);
      expect(hw.stderr).toMatch(/no hardware WebGPU adapter: the system's drivers offer only a CPU adapter/);
    }
    // `adapters` lists each driver with what Dawn made of it, and auto's pick.
    const list = catapult('adapters');
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^hardware: .+\nlavapipe: .+\nswiftshader: .+SwiftShader.+\nauto takes (gpu|lavapipe|swiftshader): /m);
    for (const r of [catapult(...one, '--adapter', 'gpu0'), withEnv({ CATAPULT_ADAPTER: 'fast' }, ...one)]) {
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/must be one of auto, hardware, lavapipe, swiftshader/);
    }
  });

  it('--version, help CMD and CMD --help, --json on list, show and run (one object on stdout), and no Dawn notes on stderr', () => {
    const v = catapult('--version');
    expect(v.status).toBe(0);
    expect(v.stdout).toMatch(/^catapult-lab \d+\.\d+\.\d+ \(code [^)]+\)\n$/);
    for (const args of [['help', 'run'], ['run', '--help'], ['run', 'gd-catapult', '-h']]) {
      const h = catapult(...args);
      expect(h.status, args.join(' ')).toBe(0);
      expect(h.stdout).toMatch(/^catapult run: run a preset, a config file or an ONNX model headless .*\nusage: catapult run PRESET/);
    }
    expect(catapult('help', 'frob').status).toBe(2);
    const list = JSON.parse(catapult('list', '--json').stdout);
    expect(list.presets.map((p: { name: string }) => p.name)).toContain('gd-catapult');
    expect(list.presets.find((p: { name: string }) => p.name === 'cyclic-lr').variants).toEqual(['exp-cyclic']);
    const show = catapult('show', 'gd-catapult', '--set', 'steps=7', '--json');
    expect(show.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(show.stdout).steps).toBe(7);
    const dir = mkdtempSync(join(tmpdir(), 'catapult-json-'));
    const r = catapult('run', 'gd-catapult', '--set', 'steps=3', '--set', 'model.hidden=16', '--no-report', '--json', '--out', dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ out: dir, preset: 'gd-catapult', status: 'completed', steps: 3 });
    expect(summary).toEqual({ out: dir, ...JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) });
    // Progress and the set-up phases are on stderr; Dawn's notes about driver limits are not.
    expect(r.stderr).toMatch(/measuring η_crit at initialization/);
    expect(r.stderr).toMatch(/headline: /);
    expect(r.stderr).not.toMatch(/artificially reduced/);
  });

  it('the progress line shows elapsed time and steps per second and moves every second, even between readbacks', () => {
    const dir = mkdtempSync(join(tmpdir(), 'catapult-progress-'));
    // bin/main.js directly, told that stderr is a terminal; one readback at the end, so only the timer moves it.
    // No evaluation before the end either (gd-catapult evaluates every 10 steps, and each evaluation reads back).
    const r = spawnSync(process.execPath, ['bin/main.js', 'run', 'gd-catapult', '--set', 'steps=60', '--set', 'readbackEvery=60', '--set', 'evalEvery=0', '--no-report', '--out', dir], {
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, CATAPULT_STDERR_TTY: '1' },
    });
    expect(r.status, r.stderr).toBe(0);
    const draws = r.stderr.split('\r').filter((l) => l.startsWith('['));
    const seconds = Number(/in ([\d.]+) s/.exec(r.stdout)![1]);
    // Drawn about once a second while training (and once at the readback): never silent for long. Half
    // of that is asked, so a loaded machine's late timer cannot fail it; without the timer it is one draw.
    expect(draws.length).toBeGreaterThanOrEqual(Math.floor(seconds / 2));
    expect(draws.at(-1)).toMatch(/step 60\/60  \d+ s  [\d.]+ steps\/s  0 s left  loss /);
  });
});
