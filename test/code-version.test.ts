// The code version of a run is read without writing to the repository: `git status` alone refreshes the index
// of a checkout whose files were touched and rewrites .git/index.
import { execSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { codeVersion } from '../src/cli/version.ts';

const dir = mkdtempSync(join(tmpdir(), 'catapult-git-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the code version', () => {
  it('names the commit and leaves .git untouched, though a file was touched since the index was written', () => {
    const git = (args: string) => execSync(`git -c user.name=t -c user.email=t@t ${args}`, { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    git('init -q');
    writeFileSync(join(dir, 'a.txt'), 'a\n');
    git('add a.txt');
    git('commit -q -m first');
    // A newer mtime, the same content: the index's stat data is stale, which `git status` would refresh.
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(dir, 'a.txt'), later, later);
    const index = join(dir, '.git', 'index');
    const before = { bytes: readFileSync(index), mtime: statSync(index).mtimeMs };
    expect(codeVersion(dir)).toBe(git('rev-parse --short HEAD'));
    expect(readFileSync(index).equals(before.bytes)).toBe(true);
    expect(statSync(index).mtimeMs).toBe(before.mtime);
    writeFileSync(join(dir, 'a.txt'), 'b\n');
    expect(codeVersion(dir)).toBe(`${git('rev-parse --short HEAD')} + uncommitted changes`);
  });
});
