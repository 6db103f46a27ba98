// The Node kernel checks, run again in headless Chromium on its own WebGPU (SwiftShader on a machine
// without a GPU). No adapter fails the first test and, through it, the rest.
import { expect, test, type Page } from '@playwright/test';
import { Rng } from '../src/data/random.ts';
import { kernelChecks } from '../test/kernel-checks.ts';
import { splitSample } from './kernels-page-sample.ts';

test.describe.configure({ mode: 'serial' });

let page: Page;

test.beforeAll(async ({ browser }, info) => {
  page = await browser.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  await page.goto(`/e2e/kernels.html${info.project.metadata.pageQuery ?? ''}`);
  await page.waitForFunction(() => window.catapultChecks !== undefined);
});

test.afterAll(async () => page?.close());

test('the browser has a WebGPU adapter and reports it', async ({}, info) => {
  const adapter = await page.evaluate(() => window.catapultChecks.adapter());
  expect(adapter.host).toBe('browser');
  if (info.project.name === 'llvmpipe-gles') {
    // Not a silent fallback to SwiftShader: Chromium's OpenGL ES adapter names no vendor, and lacks core WebGPU.
    expect(adapter.kind).not.toBe('swiftshader');
    expect(adapter.featureLevel).toBe('compatibility');
  } else {
    expect(adapter.vendor + adapter.architecture + adapter.description).not.toBe('');
    expect(adapter.featureLevel).toBe('core');
  }
});

test('the page runs the same checks as the Node tests', async () => {
  expect(await page.evaluate(() => window.catapultChecks.names)).toEqual(kernelChecks.map((c) => c.name));
});

test('the seeded generator gives the same stream as in Node', async () => {
  const rng = new Rng(12345);
  const node = Array.from({ length: 64 }, () => rng.normal());
  expect(await page.evaluate(() => window.catapultChecks.rngSample(12345, 64))).toEqual(node);
});

test('seeded splits and batch orders are the same as in Node', async () => {
  expect(await page.evaluate(() => window.catapultChecks.splitSample(77))).toEqual(splitSample(77));
});

for (const check of kernelChecks) {
  test(check.name, async () => {
    const result = await page.evaluate((name) => window.catapultChecks.run(name), check.name);
    expect(result.ok, result.detail).toBe(true);
  });
}
