// `catapult lab DIR` as a user runs it: a run started from the command line into DIR shows in the lab
// the server serves, as running, and its step count grows while it trains; when it ends its status and
// headline come from its summary.json.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';

const children: ChildProcess[] = [];
test.afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

function catapult(args: string[]): ChildProcess {
  const child = spawn(process.execPath, ['bin/catapult.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return child;
}

/** The lab's address, from the line it prints once it listens. */
function labUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c) => {
      out += c;
      const m = /catapult lab: (http:\/\/localhost:\d+\/)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`catapult lab exited with ${code}: ${out}`)));
  });
}

test('catapult lab DIR lists a run the command line is writing, and its steps grow while it runs', async ({ page }) => {
  test.setTimeout(240_000);
  const dir = mkdtempSync(join(tmpdir(), 'catapult-lab-dir-'));
  const lab = catapult(['lab', dir, '--port', '0']);
  const url = await labUrl(lab);
  // 150 steps, each read back as it is done: long enough to be watched while it runs.
  const run = catapult(['run', 'gd-catapult', '--set', 'steps=150', '--set', 'model.hidden=64', '--set', 'readbackEvery=1', '--no-report', '--out', join(dir, 'watched')]);
  const ended = new Promise<number | null>((done) => run.once('exit', done));
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  await page.goto(url);
  const row = page.locator('#runs-body tr[data-source="folder"]', { hasText: 'watched' });
  await expect(row).toContainText('running', { timeout: 120_000 });
  await expect(page.locator('#folder')).toContainText(dir);
  const stepsCell = row.locator('td').nth(4);
  await expect(stepsCell).toHaveText(/^\d+$/, { timeout: 60_000 });
  const first = Number(await stepsCell.innerText());
  await expect.poll(async () => Number(await stepsCell.innerText()), { timeout: 60_000 }).toBeGreaterThan(first);
  // The charts draw it as it grows.
  expect(Number(await page.locator('#chart-loss').getAttribute('data-points'))).toBeGreaterThan(0);
  expect(await ended).toBe(0);
  await expect(row).toContainText('completed', { timeout: 30_000 });
  await expect(stepsCell).toHaveText('150', { timeout: 30_000 });
  await expect(row).toContainText('(folder)');
  await expect(page.locator('#headline')).toContainText('spikes');
  // Both match rates, each with its counts and its definition (GD: the batch is the set, so both are known).
  const rates = page.locator('#match-rates .match-rate');
  await expect(rates).toHaveCount(2);
  await expect(rates.nth(0)).toContainText(/^total-loss match rate (\d[\d.]* %|—) \(\d+ of \d+ rises at critical steps\)total loss: .*training-set loss rose/);
  await expect(rates.nth(1)).toContainText(/^own-batch match rate (\d[\d.]* %|—) \(\d+ of \d+ rises at critical steps\)own batch: .*batch's loss rose across the step/);
});
