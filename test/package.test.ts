// The installable package, as a user gets it: `npm pack`, then `npm install -g` of the tarball into a
// temporary prefix. Its `catapult` runs gd-catapult from another folder as compiled JavaScript (no
// TypeScript loader, no sources shipped), and a Node program imports the library API from it and gets
// the records the command line writes.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const sh = (cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) =>
  spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 300_000, env: { ...process.env, ...env } });

describe('the npm package', () => {
  it('packs, installs globally into a prefix, runs gd-catapult as compiled JavaScript, and serves the library API', () => {
    const root = resolve('.');
    const work = mkdtempSync(join(tmpdir(), 'catapult-package-'));
    const pack = sh('npm', ['pack', '--pack-destination', work, '--json'], root);
    expect(pack.status, pack.stderr).toBe(0);
    const [{ filename, files }] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
    const paths = files.map((f) => f.path);
    for (const needed of ['bin/catapult.js', 'bin/main.js', 'lib/src/cli/library.js', 'lib/src/cli/library.d.ts', 'lib/src/cli/catapult.js', 'lib/site/index.html', 'lib/code-version.txt', 'data/mnist-10k-images-idx3-ubyte.gz', 'LICENSE', 'package.json', 'README.md']) {
      expect(paths, needed).toContain(needed);
    }
    // Nothing of the sources, tests, benchmarks or CI.
    expect(paths.filter((p) => /^(src|test|e2e|bench|\.ci|scripts|shaders)\//.test(p) || p.endsWith('.ts') && !p.endsWith('.d.ts'))).toEqual([]);

    const prefix = join(work, 'prefix');
    const install = sh('npm', ['install', '-g', '--prefix', prefix, join(work, filename), '--prefer-offline', '--no-audit', '--no-fund'], work);
    expect(install.status, install.stderr).toBe(0);
    const installed = join(prefix, 'lib', 'node_modules', 'catapult-lab');
    expect(existsSync(join(installed, 'node_modules', 'tsx'))).toBe(false);
    expect(existsSync(join(installed, 'src'))).toBe(false);

    // The command, from a folder that is not the package's: the bundled data and the page script are found.
    const elsewhere = mkdtempSync(join(tmpdir(), 'catapult-user-'));
    const catapult = join(prefix, 'bin', 'catapult');
    const version = sh(catapult, ['--version'], elsewhere);
    expect(version.stdout).toMatch(/^catapult-lab \d+\.\d+\.\d+ \(code /);
    const run = sh(catapult, ['run', 'gd-catapult', '--set', 'steps=4', '--set', 'model.hidden=32', '--no-report', '--json', '--out', 'run'], elsewhere);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ preset: 'gd-catapult', status: 'completed', steps: 4 });
    const mnist = sh(catapult, ['run', 'sgd-spikes', '--set', 'steps=2', '--no-report', '--out', 'mnist'], elsewhere);
    expect(mnist.status, mnist.stderr).toBe(0);

    // The library: a Node program that depends on the package.
    const project = join(work, 'project');
    mkdirSync(join(project, 'node_modules'), { recursive: true });
    symlinkSync(installed, join(project, 'node_modules', 'catapult-lab'));
    writeFileSync(
      join(project, 'main.mjs'),
      `import { presets, runPreset, train, resolvePreset } from 'catapult-lab';
const r = await runPreset('gd-catapult', { set: { steps: 4, 'model.hidden': 32 }, out: 'api-run' });
const t = await train(resolvePreset('gd-catapult', { set: [['steps', 2], ['model.hidden', 32]] }));
console.log(JSON.stringify({ presets: presets.length, status: r.summary.status, losses: r.records.map((x) => x.loss), trained: t.records.length }));
`,
    );
    const api = sh(process.execPath, ['main.mjs'], project);
    expect(api.status, api.stderr).toBe(0);
    const got = JSON.parse(api.stdout.trim().split('\n').at(-1)!);
    expect(got).toMatchObject({ status: 'completed', trained: 2 });
    expect(got.presets).toBeGreaterThan(20);
    // The same records as the command line's metrics.jsonl for the same preset, overrides and seed.
    const cli = readFileSync(join(elsewhere, 'run', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'step').map((l) => l.loss);
    expect(got.losses).toEqual(cli);
    expect(readdirSync(join(project, 'api-run'))).toContain('summary.json');
  }, 300_000);
});
