// The lab page in headless Chromium on its own WebGPU adapter (SwiftShader without a GPU): a tiny
// gd-catapult from the preset picker to the charts, pause and single steps, validation, shared links,
// exports and loading runs back, and the errors a user can act on.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Download, type Page } from '@playwright/test';
import { PRESETS, resolvePreset } from '../src/run/presets.ts';

// 40 steps of the quick gd-catapult: the spike comes within the first 20 steps.
const TINY = '/?preset=gd-catapult&scale=quick&seed=0&set=steps%3D40&set=readbackEvery%3D5';
const LONG = '/?preset=gd-catapult&scale=quick&seed=0&set=steps%3D400&set=readbackEvery%3D1';

async function openLab(page: Page, url: string): Promise<void> {
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  await page.goto(url);
  await expect(page.locator('body')).toHaveAttribute('data-gpu', 'ready', { timeout: 60_000 });
}

const steps = (page: Page) => page.evaluate(() => window.catapultLab.runs().at(-1)?.records.length ?? 0);

async function saved(download: Download): Promise<string> {
  return readFileSync((await download.path())!, 'utf8');
}

test('the page shows its adapter, says when it is a software adapter, and lists every preset with its figure', async ({ page }) => {
  await openLab(page, '/');
  await expect(page.locator('#adapter')).toContainText('adapter:');
  if ((await page.locator('#adapter').getAttribute('data-software')) === 'true') await expect(page.locator('#notice')).toContainText('software adapter');
  const options = await page.locator('#preset option:not([disabled])').allTextContents();
  expect(options).toHaveLength(PRESETS.length);
  for (const p of PRESETS) expect(options).toContain(`${p.name} — ${p.paper}`);
  await expect(page.locator('#preset option[disabled]')).toHaveCount(0);
});

test('a CNN preset runs in the lab to the end: a record per step with λ_max, and the λ chart drawn', async ({ page }) => {
  test.setTimeout(180_000);
  const set = ['steps=3', 'model.channels=2', 'data.train=16', 'data.test=16', 'tracking.set.examples=16', 'tracking.spectrum.top=2', 'readbackEvery=1'];
  await openLab(page, `/?preset=gd-catapult-cnn&scale=quick&seed=0&${set.map((s) => `set=${encodeURIComponent(s)}`).join('&')}`);
  await page.click('#run');
  await expect(page.locator('body')).toHaveAttribute('data-state', 'completed', { timeout: 150_000 });
  const run = (await page.evaluate(() => window.catapultLab.runs())).at(-1)!;
  expect(run.records.map((r) => r.step)).toEqual([0, 1, 2]);
  for (const r of run.records) {
    expect(r.lambda).toBeGreaterThan(0);
    expect(Number.isFinite(r.loss)).toBe(true);
  }
  expect(Number(await page.locator('#chart-lambda').getAttribute('data-points'))).toBeGreaterThan(0);
});

for (const [preset, narrow] of [
  ['sgd-top-eigenspace-wrn', 'model.widen=1'],
  ['sgd-top-eigenspace-vit', 'model.dim=8'],
] as const) {
  test(`${preset} runs in the lab: a record per step with λ_max of the set and of the batch`, async ({ page }) => {
    test.setTimeout(180_000);
    const set = ['steps=2', narrow, 'data.train=16', 'data.test=16', 'batchSize=8', 'tracking.set.examples=16', 'evalEvery=1', 'readbackEvery=1'];
    await openLab(page, `/?preset=${preset}&scale=quick&seed=0&${set.map((s) => `set=${encodeURIComponent(s)}`).join('&')}`);
    await page.click('#run');
    await expect(page.locator('body')).toHaveAttribute('data-state', 'completed', { timeout: 150_000 });
    const run = (await page.evaluate(() => window.catapultLab.runs())).at(-1)!;
    expect(run.records.map((r) => r.step)).toEqual([0, 1]);
    for (const r of run.records) {
      expect(r.lambda).toBeGreaterThan(0);
      expect(r.lambdaBatch).toBeGreaterThan(0);
      expect(Number.isFinite(r.loss)).toBe(true);
    }
  });
}

/** Whether the page is wider than its window (a sideways scroll). */
const overflows = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);

test('a tiny gd-catapult runs to the end: charts, spectrum, markers, smoothing, exports, layout at 1280 and 390 px, kept across a reload', async ({ page }, testInfo) => {
  test.setTimeout(300_000);
  await page.setViewportSize({ width: 1280, height: 900 });
  await openLab(page, TINY);
  // Run is the first control the keyboard reaches.
  await page.keyboard.press('Tab');
  await expect(page.locator('#run')).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.locator('body')).toHaveAttribute('data-state', 'completed', { timeout: 180_000 });
  await expect(page.locator('#progress')).toContainText('step 40 / 40');
  await expect(page.locator('#announce')).toHaveText(/completed/);

  // Every tracked quantity has a chart with points; the spike is a marker on each of them and a table row.
  for (const id of ['loss', 'lambda', 'stability', 'schedule', 'test', 'spectrum', 'spectrum-points']) {
    const points = Number(await page.locator(`#chart-${id}`).getAttribute('data-points'));
    expect(points, id).toBeGreaterThan(0);
  }
  expect(Number(await page.locator('#chart-loss').getAttribute('data-points'))).toBeGreaterThanOrEqual(4 * 40);
  const runs = await page.evaluate(() => window.catapultLab.runs());
  const spikes = runs[0].summary!.spikes;
  expect(spikes).toHaveLength(1);
  for (const id of ['loss', 'lambda', 'schedule', 'spectrum']) await expect(page.locator(`#chart-${id}`)).toHaveAttribute('data-markers', '1');
  await expect(page.locator('#events-body tr')).toHaveCount(1);
  await expect(page.locator('#events-body tr td').nth(1)).toHaveText(String(spikes[0].peak));
  await expect(page.locator('#headline')).toContainText('spikes 1');

  // The spectrum: k eigenvalue series (λ_1 … λ_k, more where one had not converged) and the critical line.
  const k = resolvePreset('gd-catapult').tracking!.spectrum!.top;
  const legend = await page.locator('#chart-spectrum .legend li').allTextContents();
  for (let i = 1; i <= k; i++) expect(legend.some((t) => t.startsWith(`λ_${i} final`)), `λ_${i}`).toBe(true);
  expect(legend.some((t) => t.startsWith('n/η final'))).toBe(true);
  expect(Number(await page.locator('#chart-spectrum').getAttribute('data-series'))).toBeGreaterThanOrEqual(k + 1);
  expect(legend.join(' ')).not.toContain('--');

  // The layout at 1280 and 390 px wide: no sideways scroll; screenshots kept as artifacts.
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await page.waitForTimeout(300);
    expect(await overflows(page), `${width} px`).toBe(false);
    const shot = testInfo.outputPath(`lab-${width}.png`);
    await page.screenshot({ path: shot, fullPage: width === 390 });
    await testInfo.attach(`the lab at ${width} px after a gd-catapult run`, { path: shot, contentType: 'image/png' });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  // Dark mode follows the system's scheme, charts included.
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.waitForTimeout(300);
  expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(22, 24, 29)');
  const dark = testInfo.outputPath('lab-1280-dark.png');
  await page.screenshot({ path: dark });
  await testInfo.attach('the lab at 1280 px in dark mode', { path: dark, contentType: 'image/png' });
  await page.emulateMedia({ colorScheme: 'light' });

  // Smoothing: the losses get a smoothed line over their faint raw values; the events table is the same.
  const events = await page.locator('#events-body').innerText();
  const lossSeries = await page.locator('#chart-loss').getAttribute('data-series');
  await page.locator('#smoothing').fill('0.9');
  await expect(page.locator('#smoothing-value')).toHaveText('0.90');
  await expect(page.locator('#chart-loss')).toHaveAttribute('data-faint', lossSeries!);
  expect(await page.locator('#events-body').innerText()).toBe(events);
  await expect(page.locator('#chart-loss')).toHaveAttribute('data-markers', '1');
  await page.locator('#smoothing').fill('0');

  // A chart as SVG: every series and the legend with final values; as PNG at 2× its SVG's width.
  const [svgFile] = await Promise.all([page.waitForEvent('download'), page.locator('#chart-spectrum .export-svg').click()]);
  const svg = await saved(svgFile);
  for (let i = 1; i <= k; i++) expect(svg, `λ_${i}`).toContain(`<g class="series" data-label="λ_${i}">`);
  expect(svg).toContain('<g class="legend">');
  expect(svg).toMatch(/class="legend-entry"[^>]*>n\/η <tspan[^>]*>final \d/);
  expect(svg).toContain('catapult peak');
  const [pngFile] = await Promise.all([page.waitForEvent('download'), page.locator('#chart-spectrum .export-png').click()]);
  const png = readFileSync((await pngFile.path())!);
  expect(png.subarray(1, 4).toString()).toBe('PNG');
  expect(png.readUInt32BE(16)).toBe(2 * Number(/<svg[^>]* width="(\d+)"/.exec(svg)![1]));

  // Exports of the run: the JSON and CSV hold every step as recorded, the PNG is an image.
  const row = page.locator('#runs-body tr').first();
  const [json] = await Promise.all([page.waitForEvent('download'), row.locator('button', { hasText: 'JSON' }).click()]);
  const exported = JSON.parse(await saved(json));
  expect(exported.format).toBe('catapult-lab run');
  expect(exported.records).toEqual(runs[0].records);
  expect(exported.config.steps).toBe(40);
  const [csv] = await Promise.all([page.waitForEvent('download'), row.locator('button', { hasText: 'CSV' }).click()]);
  const lines = (await saved(csv)).trim().split('\n');
  expect(lines[0]).toMatch(/^step,lr,loss/);
  expect(lines).toHaveLength(41);
  expect(Number(lines[9].split(',')[2])).toBe(runs[0].records[8].loss);
  const [all] = await Promise.all([page.waitForEvent('download'), row.locator('button', { hasText: 'PNG' }).click()]);
  expect(readFileSync((await all.path())!).subarray(1, 4).toString()).toBe('PNG');

  // A reload keeps the run (IndexedDB), every record of it.
  await page.reload();
  await expect(page.locator('body')).toHaveAttribute('data-gpu', 'ready', { timeout: 60_000 });
  await expect(page.locator('#runs-body tr')).toHaveCount(1);
  await expect(page.locator('#runs-body tr').first()).toContainText('completed');
  expect((await page.evaluate(() => window.catapultLab.runs()))[0].records).toEqual(runs[0].records);
  await expect(page.locator('#events-body tr')).toHaveCount(1);

  // The export loads back as a second run and is compared with the first: each in its colour, named short.
  await page.setInputFiles('#load', (await json.path())!);
  await expect(page.locator('#runs-body tr')).toHaveCount(2);
  await expect(page.locator('#runs-body tr').nth(1)).toContainText('(loaded)');
  await page.locator('#runs-body tr').first().locator('input[type=radio]').check();
  await page.locator('#runs-body tr').nth(1).locator('input.overlay').check();
  await expect(page.locator('#chart-loss .legend')).toContainText('batch loss · #2 gd-catapult s0');
  await expect(page.locator('#chart-loss .legend')).toContainText('batch loss · #1 gd-catapult s0');
  await expect(page.locator('#events-body tr')).toHaveCount(2);
  // Sorting by a column keeps both rows; removing the loaded run takes it out of storage too.
  await page.getByRole('button', { name: 'steps', exact: true }).click();
  await expect(page.locator('#runs-head th[aria-sort]')).toHaveAttribute('aria-sort', 'ascending');
  await page.locator('#runs-body tr', { hasText: '(loaded)' }).locator('button', { hasText: 'Remove' }).click();
  await expect(page.locator('#runs-body tr')).toHaveCount(1);
  await page.reload();
  await expect(page.locator('body')).toHaveAttribute('data-gpu', 'ready', { timeout: 60_000 });
  await expect(page.locator('#runs-body tr')).toHaveCount(1);
});

test('a run the command line wrote loads and shows', async ({ page }) => {
  test.setTimeout(180_000);
  const out = mkdtempSync(join(tmpdir(), 'catapult-lab-cli-'));
  execFileSync(process.execPath, ['bin/catapult.js', 'run', 'gd-catapult', '--set', 'steps=12', '--set', 'model.hidden=64', '--no-report', '--out', out], { stdio: 'ignore' });
  await openLab(page, '/');
  await page.setInputFiles('#load', [join(out, 'summary.json'), join(out, 'metrics.jsonl')]);
  await expect(page.locator('#runs-body tr')).toHaveCount(1);
  await expect(page.locator('#runs-body tr')).toContainText('(command line)');
  await expect(page.locator('#progress')).toContainText('step 12 / 12');
  expect(Number(await page.locator('#chart-loss').getAttribute('data-points'))).toBeGreaterThanOrEqual(12);
  // A metrics file alone is refused with a message saying what to load.
  await page.setInputFiles('#load', join(out, 'metrics.jsonl'));
  await expect(page.locator('#load-error')).toContainText('summary.json and metrics.jsonl together');
});

test('nothing a loaded file or a link holds runs script; a malformed file is refused naming the field, with no page error', async ({ page }) => {
  const ATTACK = '<img src=x onerror=alert(1)>';
  const dialogs: string[] = [];
  const errors: string[] = [];
  page.on('dialog', async (d) => {
    dialogs.push(d.message());
    await d.dismiss();
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await openLab(page, `/?preset=${encodeURIComponent(ATTACK)}&variant=${encodeURIComponent('<svg onload=alert(2)>')}&set=${encodeURIComponent(`steps=${ATTACK}`)}&${encodeURIComponent(ATTACK)}=1`);
  await expect(page.locator('#link-error')).toContainText(`preset "${ATTACK}" is not one of the presets`);
  await expect(page.locator('#link-error')).toContainText(`unknown link parameter "${ATTACK}"`);
  await expect(page.locator('#run')).toBeDisabled();

  const dir = mkdtempSync(join(tmpdir(), 'catapult-lab-hostile-'));
  const config = resolvePreset('gd-catapult', { set: [['steps', 3]] });
  const run = {
    format: 'catapult-lab run', label: ATTACK, preset: ATTACK, scale: 'quick', variant: null, seed: 0, set: [['steps', ATTACK]], config, adapter: ATTACK, status: 'diverged', message: `</td><script>alert(3)</script>`, trainSize: 128,
    records: [{ step: 0, lr: 1, loss: 1 }, { step: 1, lr: 1, loss: 'Infinity' }, { step: 2, lr: 1, loss: 'NaN' }],
    evals: [],
  };
  writeFileSync(join(dir, 'hostile.json'), JSON.stringify(run));
  await page.setInputFiles('#load', join(dir, 'hostile.json'));
  await expect(page.locator('#runs-body tr')).toHaveCount(1);
  await expect(page.locator('#runs-body tr')).toContainText(ATTACK);
  await expect(page.locator('#run-message')).toContainText('<script>alert(3)</script>');
  // What older versions wrote for NaN (null) and what no version writes (a record of null) or a string loss.
  writeFileSync(join(dir, 'nulls.json'), JSON.stringify({ ...run, label: 'nulls', records: [{ step: 0, lr: 1, loss: null }] }));
  await page.setInputFiles('#load', join(dir, 'nulls.json'));
  await expect(page.locator('#runs-body tr')).toHaveCount(2);
  for (const [name, records, message] of [['null-record.json', [null], 'null-record.json: records[0]: expected object, received null'], ['markup-loss.json', [{ step: 0, lr: 1, loss: ATTACK }], 'markup-loss.json: records[0].loss: must be a number']] as const) {
    writeFileSync(join(dir, name), JSON.stringify({ ...run, records }));
    await page.setInputFiles('#load', join(dir, name));
    await expect(page.locator('#load-error')).toContainText(message);
  }
  await expect(page.locator('#runs-body tr')).toHaveCount(2);
  await page.waitForTimeout(300);
  expect(dialogs).toEqual([]);
  expect(errors).toEqual([]);
});

test('pause holds the run, single steps advance it by one, resume goes on; reset ends it and keeps its data', async ({ page }) => {
  test.setTimeout(180_000);
  await openLab(page, LONG);
  await page.click('#run');
  await expect.poll(() => steps(page), { timeout: 120_000 }).toBeGreaterThan(2);
  await page.click('#pause');
  await expect(page.locator('body')).toHaveAttribute('data-state', 'paused', { timeout: 60_000 });
  const held = await steps(page);
  await page.waitForTimeout(1500);
  expect(await steps(page)).toBe(held);
  await page.click('#step');
  await expect.poll(() => steps(page), { timeout: 30_000 }).toBe(held + 1);
  await expect(page.locator('body')).toHaveAttribute('data-state', 'paused');
  await page.click('#pause');
  await expect.poll(() => steps(page), { timeout: 60_000 }).toBeGreaterThan(held + 2);
  await page.click('#reset');
  await expect(page.locator('#runs-body tr').first()).toContainText('stopped', { timeout: 60_000 });
  expect(await steps(page)).toBeGreaterThan(held + 2);
});

test('an invalid field shows what is allowed and the run does not start', async ({ page }) => {
  await openLab(page, '/?preset=gd-catapult');
  await page.fill('input[name="steps"]', '-3');
  await page.locator('input[name="steps"]').dispatchEvent('change');
  await expect(page.locator('.field[data-key="steps"] .field-error')).toContainText('steps must be an integer >= 0');
  await expect(page.locator('#run')).toBeDisabled();
  await page.fill('input[name="steps"]', '40');
  await page.locator('input[name="steps"]').dispatchEvent('change');
  // The form is typed from the config's schema: choices as a select, numbers with their range, a line of help.
  await expect(page.locator('input[name="steps"]')).toHaveAttribute('type', 'number');
  await expect(page.locator('input[name="steps"]')).toHaveAttribute('min', '0');
  await expect(page.locator('.field[data-key="steps"] .field-help')).toHaveText('updates to make');
  expect(await page.locator('select[name="optimizer.name"] option').allTextContents()).toEqual(['gd', 'sgd', 'rmsprop', 'adagrad', 'adadelta', 'adam']);
  expect(await page.locator('select[name="loss"] option').allTextContents()).toEqual(['mse', 'cross-entropy']);
  // A schedule of another kind does not take the constant schedule's lr: said, naming the key and what it takes.
  await page.selectOption('select[name="schedule.kind"]', 'cyclic');
  await expect(page.locator('#config-error')).toContainText('schedule (cyclic): unknown key "lr"; schedule (cyclic) takes kind, base, max, period');
  await page.locator('#run').click({ force: true });
  await expect(page.locator('#runs-body tr')).toHaveCount(0);
});

test('a shared URL restores preset, seed and overrides, and edits update the URL', async ({ page }) => {
  await openLab(page, '/?preset=sgd-spikes&scale=quick&seed=7&set=schedule.lr%3D2.5&set=steps%3D12');
  await expect(page.locator('#preset')).toHaveValue('sgd-spikes');
  await expect(page.locator('#seed')).toHaveValue('7');
  await expect(page.locator('input[name="schedule.lr"]')).toHaveValue('2.5');
  await expect(page.locator('input[name="steps"]')).toHaveValue('12');
  await page.fill('input[name="batchSize"]', '16');
  await page.locator('input[name="batchSize"]').dispatchEvent('change');
  const url = new URL(page.url());
  expect(url.searchParams.getAll('set').sort()).toEqual(['batchSize=16', 'schedule.lr=2.5', 'steps=12']);
  expect(url.searchParams.get('seed')).toBe('7');
});

test('without WebGPU the page says which browser or flag to use', async ({ page }) => {
  await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined }));
  await page.goto('/');
  await expect(page.locator('body')).toHaveAttribute('data-gpu', 'missing', { timeout: 30_000 });
  await expect(page.locator('#notice')).toContainText('--enable-unsafe-webgpu');
  await expect(page.locator('#run')).toBeDisabled();
});

test('a lost device ends the run and keeps its data', async ({ page }) => {
  test.setTimeout(180_000);
  await openLab(page, LONG);
  await page.click('#run');
  await expect.poll(() => steps(page), { timeout: 120_000 }).toBeGreaterThan(2);
  await page.evaluate(() => window.catapultLab.gpu()!.device.destroy());
  await expect(page.locator('body')).toHaveAttribute('data-state', 'lost', { timeout: 60_000 });
  await expect(page.locator('#notice')).toContainText('device was lost');
  expect(await steps(page)).toBeGreaterThan(2);
  await expect(page.locator('#runs-body tr').first()).toContainText('lost');
});
