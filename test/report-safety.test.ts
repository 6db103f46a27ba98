// Nothing a run or sweep folder holds can run script in its report or make the report write outside the
// folder: hostile summary.json, metrics.jsonl and sweep.json values are shown as text (in the page and in
// its SVG charts), the page's Content-Security-Policy runs no script, chart files are named only from plain ids, and a
// sweep's combination folder must be a plain name. Checked by opening the reports in headless Chromium and
// listening for dialogs.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright';
import { describe, expect, it } from 'vitest';
import { SAFE_NAME, sweepReportHtml, writeReport } from '../src/cli/report.ts';

const ATTACK = '<img src=x onerror=alert(1)>';
const executablePath = process.env.CATAPULT_CHROMIUM ?? '/usr/bin/chromium';

/** Opens a report and returns the dialogs it raised, its page errors and its text. */
async function open(path: string): Promise<{ dialogs: string[]; text: string }> {
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage();
    const dialogs: string[] = [];
    page.on('dialog', async (d) => {
      dialogs.push(d.message());
      await d.dismiss();
    });
    await page.goto(pathToFileURL(path).href);
    await page.waitForTimeout(500);
    return { dialogs, text: await page.innerText('body') };
  } finally {
    await browser.close();
  }
}

describe('reports of hostile folders', () => {
  it('show every summary and metrics value as text, run no script, and write only their own files', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'catapult-hostile-'));
    const dir = join(parent, 'run');
    mkdirSync(dir);
    // Every string field holds markup; fields of other types are refused by the schema (below).
    const summary = {
      preset: ATTACK,
      paper: ATTACK,
      summaryText: ATTACK,
      variant: '"><script>alert(2)</script>',
      scale: ATTACK,
      seed: 0,
      adapter: ATTACK,
      adapterInfo: { description: ATTACK },
      codeVersion: ATTACK,
      seconds: 1,
      status: 'completed',
      message: '</p><svg onload=alert(3)>',
      steps: 1,
      headline: { [ATTACK]: ATTACK, spikes: 1 },
      criticalSteps: [0],
      spikes: [{ start: 0, peak: 1, end: null, startLoss: 1, peakLoss: 2, height: 1, ratio: 2, duration: null }],
      notes: [ATTACK],
      config: { [ATTACK]: '</script><script>alert(5)</script>', tracking: { set: { examples: ATTACK }, spectrum: { top: '</script><script>alert(5)</script>' } } },
    };
    writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary));
    writeFileSync(join(dir, 'metrics.jsonl'), `${JSON.stringify({ type: 'step', step: 0, lr: 1, loss: 'Infinity', lambda: 'NaN', lossTop: 0.5 })}\n`);
    const written = await writeReport(dir);
    for (const f of written) expect(f.startsWith(dir), f).toBe(true);
    // The charts' SVG files hold the hostile labels as text too (the L≤top label comes from the config).
    const svgs = written.filter((f) => f.endsWith('.svg'));
    expect(svgs.length).toBeGreaterThan(0);
    for (const f of svgs) expect(readFileSync(f, 'utf8'), f).not.toMatch(/<script|<img/);
    expect(readFileSync(join(dir, 'chart-loss.svg'), 'utf8')).toContain('L≤&lt;/script&gt;&lt;script&gt;alert(5)&lt;/script&gt;');
    expect(readdirSync(parent)).toEqual(['run']);
    const { dialogs, text } = await open(join(dir, 'report.html'));
    expect(dialogs).toEqual([]);
    expect(text).toContain(ATTACK);
    expect(text).toContain('</p><svg onload=alert(3)>');
    // Markup where a number belongs is not shown at all: the file is refused, naming the field.
    writeFileSync(join(dir, 'summary.json'), JSON.stringify({ ...summary, steps: ATTACK }));
    await expect(writeReport(dir)).rejects.toThrow(/summary.json: steps: expected number, received string/);
    writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary));
    writeFileSync(join(dir, 'metrics.jsonl'), `${JSON.stringify({ type: 'step', step: 0, lr: 1, loss: ATTACK })}\n`);
    await expect(writeReport(dir)).rejects.toThrow(/metrics.jsonl line 1: loss: must be a number/);
  }, 120_000);

  it('a sweep: hostile seeds and grid are text; a combination folder that is a path is refused, naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'catapult-hostile-sweep-'));
    writeFileSync(join(dir, 'sweep.json'), JSON.stringify({ preset: ATTACK, scale: ATTACK, grid: { [ATTACK]: [ATTACK] }, seeds: 2, set: [[ATTACK, ATTACK]], combos: [] }));
    writeFileSync(join(dir, 'report.html'), sweepReportHtml(dir));
    const { dialogs, text } = await open(join(dir, 'report.html'));
    expect(dialogs).toEqual([]);
    expect(text).toContain(`Sweep of ${ATTACK}`);
    expect(text).toContain(`scale ${ATTACK}`);
    writeFileSync(join(dir, 'sweep.json'), JSON.stringify({ preset: 'x', scale: 'quick', grid: {}, seeds: ATTACK, set: [], combos: [] }));
    expect(() => sweepReportHtml(dir)).toThrow(/sweep.json: seeds: expected number, received string/);
    writeFileSync(join(dir, 'sweep.json'), JSON.stringify({ preset: 'x', scale: 'quick', grid: {}, seeds: 1, set: [], combos: [{ label: 'a', folder: '../../etc' }] }));
    expect(() => sweepReportHtml(dir)).toThrow(/sweep.json: combination folder "..\/..\/etc" is not a plain folder name/);
  }, 120_000);

  it('names chart files only from plain ids', () => {
    for (const ok of ['loss', 'lambda', 'schedule.lr=0.5,seed=1', 'eta-crit']) expect(SAFE_NAME.test(ok), ok).toBe(true);
    for (const bad of ['../x', 'a/b', '..', '.hidden', '', 'a b', 'x\\y', 'a'.repeat(300)]) expect(SAFE_NAME.test(bad), bad).toBe(false);
  });
});
