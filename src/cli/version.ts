// The code version written with every result: the git commit, marked when the tree has uncommitted changes.
import { execSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { packageRoot as repoRoot } from './package-root.ts';

/** The version in package.json (of the checkout, or of the installed package). */
export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(resolve(repoRoot, 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * The commit of the checkout at `root` (the package's by default), "+ uncommitted changes" where the tree differs.
 * Read-only: plain `git status` refreshes the index and rewrites .git/index, so a run would change the
 * repository it reports on; --no-optional-locks skips that write.
 */
export function codeVersion(root = repoRoot): string {
  // A bundle built for a machine without the repository (npm run bench:device) carries the version it was built at.
  if (process.env.CATAPULT_CODE_VERSION) return process.env.CATAPULT_CODE_VERSION;
  // An installed package is no git checkout: it carries the commit it was packed at.
  const packed = resolve(root, 'lib/code-version.txt');
  if (existsSync(packed) && !existsSync(resolve(root, '.git'))) return readFileSync(packed, 'utf8').trim();
  try {
    const run = (cmd: string) => execSync(cmd, { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const head = run('git rev-parse --short HEAD');
    return run('git --no-optional-locks status --porcelain') !== '' ? `${head} + uncommitted changes` : head;
  } catch {
    return 'unknown';
  }
}
