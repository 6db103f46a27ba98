// The README's Python snippets ("Reading results in Python") run as they are on a fresh run folder: pandas
// reads metrics.csv, evals.csv and metrics.jsonl (non-finite numbers included), NumPy reads a checkpoint and
// PyTorch loads its weights with load_state_dict. Debian's python3-numpy, python3-pandas and python3-torch
// are needed (scripts/setup.sh installs them); without them this test fails and says so.
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { metricsLine } from '../src/run/export.ts';

const python = '/usr/bin/python3';
const snippets = () => {
  const section = readFileSync('README.md', 'utf8').split('## Reading results in Python')[1].split('\n## ')[0];
  return [...section.matchAll(/```python\n([\s\S]*?)```/g)].map((m) => m[1]);
};

describe('the README\'s Python snippets', () => {
  it('load a run in pandas and a checkpoint in NumPy and PyTorch', () => {
    const have = spawnSync(python, ['-c', 'import numpy, pandas, torch'], { encoding: 'utf8' });
    expect(have.status, `${python} lacks numpy, pandas or torch (${have.stderr.trim()}): run scripts/setup.sh`).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'catapult-python-'));
    const run = spawnSync(process.execPath, ['bin/catapult.js', 'run', 'gd-catapult', '--set', 'steps=4', '--set', 'model.hidden=32', '--set', 'evalEvery=2', '--save-at', '2', '--no-report', '--out', dir], { encoding: 'utf8', timeout: 120_000 });
    expect(run.status, run.stderr).toBe(0);
    // One more step record, written as a diverged run writes its last loss: it must come back as inf.
    appendFileSync(join(dir, 'metrics.jsonl'), metricsLine('step', { step: 4, lr: 1, loss: Infinity }));
    const blocks = snippets();
    expect(blocks).toHaveLength(2);
    const outputs = blocks.map((code, i) => {
      const file = join(dir, `snippet-${i}.py`);
      writeFileSync(file, code.replace('run = "runs/gd-catapult-seed0"', `run = ${JSON.stringify(dir)}`));
      const r = spawnSync(python, [file], { encoding: 'utf8', timeout: 120_000 });
      expect(r.status, `snippet ${i + 1}:\n${code}\n${r.stderr}`).toBe(0);
      return r.stdout;
    });
    // pandas: the last steps, the top-5 eigenvalues as 5 columns, the loss as floats from JSON Lines.
    expect(outputs[0]).toMatch(/step\s+loss\s+lambda/);
    expect(outputs[0]).toMatch(/\(4, 5\)/);
    expect(outputs[0]).toMatch(/^float64 inf$/m);
    // NumPy and PyTorch: step 2, the first layer 32 × 100, the NTK of the tracked set symmetric.
    expect(outputs[1]).toMatch(/^2 \{.*'hidden': \[32\].*\} \(32, 100\)$/m);
    expect(outputs[1]).toMatch(/^\(128, 128\) True$/m);
  }, 180_000);
});
