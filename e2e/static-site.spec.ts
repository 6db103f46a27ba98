// `npm run build` gives a static site that works from any folder: built into a nested folder and served by
// a plain file server, the lab loads, fetches the bundled MNIST relative to the page and trains.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { expect, test } from '@playwright/test';

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.gz': 'application/octet-stream' };
let server: Server;
let origin: string;

test.beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), 'catapult-site-'));
  execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--outDir', join(root, 'some', 'folder'), '--emptyOutDir', '--logLevel', 'error'], { stdio: 'inherit' });
  server = createServer((req, res) => {
    let path = normalize(decodeURIComponent(new URL(req.url!, 'http://x').pathname));
    if (path.endsWith('/')) path += 'index.html';
    try {
      const body = readFileSync(join(root, path));
      res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((done) => server.listen(0, 'localhost', done));
  origin = `http://localhost:${(server.address() as AddressInfo).port}`;
});

test.afterAll(() => new Promise<void>((done) => (server ? server.close(() => done()) : done())));

test('the built lab, served from a nested folder, trains on the bundled MNIST', async ({ page }) => {
  test.setTimeout(180_000);
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  await page.goto(`${origin}/some/folder/?preset=mnist-optimizers&seed=1&set=steps%3D4&set=model.hidden%3D32&set=data.train%3D512&set=data.test%3D256`);
  await expect(page.locator('body')).toHaveAttribute('data-gpu', 'ready', { timeout: 60_000 });
  await page.click('#run');
  await expect(page.locator('body')).toHaveAttribute('data-state', 'completed', { timeout: 120_000 });
  await expect(page.locator('#progress')).toContainText('step 4 / 4');
  expect(Number(await page.locator('#chart-accuracy').getAttribute('data-points'))).toBeGreaterThan(0);
});
