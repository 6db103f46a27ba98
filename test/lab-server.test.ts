// `catapult lab DIR`'s server (src/cli/lab-server.ts) on hand-made folders: which folders are runs and in
// what state, metrics read on from a byte offset by whole lines, and requests it must refuse: another
// host, a write, a run not found by the scan, a path out of the site, an offset that is no number.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCompleteLines, scanRunFolders, serveLab } from '../src/cli/lab-server.ts';
import { RUN_START_FORMAT } from '../src/run/run-folder.ts';
import { resolvePreset } from '../src/run/presets.ts';

const root = mkdtempSync(join(tmpdir(), 'catapult-lab-server-'));
const runs = join(root, 'runs');
const site = join(root, 'site');
const config = resolvePreset('gd-catapult', { set: [['steps', 3]] });
const start = (seed: number) => JSON.stringify({ format: RUN_START_FORMAT, preset: 'gd-catapult', variant: null, scale: 'quick', seed, adapter: 'test', codeVersion: 'x', started: '2026-12-01T00:00:00Z', config: { ...config, seed } });
const step = (t: number) => `${JSON.stringify({ type: 'step', step: t, lr: 1, loss: 1 / (t + 1) })}\n`;

function folder(path: string, files: Record<string, string>): void {
  mkdirSync(join(runs, path), { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(runs, path, name), text);
}

let server: { url: string; close: () => Promise<void> };
beforeAll(async () => {
  mkdirSync(site, { recursive: true });
  writeFileSync(join(site, 'index.html'), '<!doctype html><title>lab</title>');
  writeFileSync(join(root, 'secret.txt'), 'not for the page');
  // Running (this process holds its lock), interrupted (no lock, no summary), a damaged start file, a
  // sweep's run two levels down, and folders that must be skipped.
  folder('live', { 'run.json': start(1), 'run.lock': `${process.pid}\n`, 'metrics.jsonl': step(0) + step(1) + '{"type":"step","st' });
  folder('stopped', { 'run.json': start(2), 'metrics.jsonl': step(0) });
  folder('damaged', { 'run.json': JSON.stringify({ format: RUN_START_FORMAT, preset: 'gd-catapult', seed: 'x' }) });
  folder('sweep-a/schedule.lr=1/seed-0', { 'run.json': start(0), 'metrics.jsonl': '' });
  folder('not-json', { 'run.json': '{"format": "catapult-lab run start", ' });
  folder('unknown-key', { 'run.json': JSON.stringify({ ...JSON.parse(start(6)), colour: 'red' }) });
  folder('other-format', { 'run.json': JSON.stringify({ ...JSON.parse(start(7)), format: 'something else' }) });
  folder('.hidden', { 'run.json': start(3) });
  folder('node_modules/x', { 'run.json': start(4) });
  folder('a/b/c/d/e', { 'run.json': start(5) });
  server = await serveLab(runs, site, 0);
});
afterAll(() => server?.close());

const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => fetch(new URL(path, server.url), { headers, method });

/** A request with another Host header (fetch may not set one), as a page of a rebinding domain would send. */
const fromHost = (path: string, host: string) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const url = new URL(path, server.url);
    request({ host: 'localhost', port: url.port, path: url.pathname, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    })
      .on('error', reject)
      .end();
  });

describe('catapult lab: the folder', () => {
  it('lists every run folder with its state: running, interrupted, unreadable (naming the field), a sweep’s run by its path', () => {
    const listed = scanRunFolders(runs).map((r) => [r.id, r.status, r.seed]);
    expect(listed).toEqual([
      ['damaged', 'unreadable', 0],
      ['live', 'running', 1],
      ['not-json', 'unreadable', 0],
      ['other-format', 'unreadable', 0],
      ['stopped', 'interrupted', 2],
      ['sweep-a/schedule.lr=1/seed-0', 'interrupted', 0],
      ['unknown-key', 'unreadable', 0],
    ]);
    // Each unreadable start file is listed with what was wrong in it, naming the file and the field.
    const problem = (id: string) => scanRunFolders(runs).find((r) => r.id === id)!.problem;
    expect(problem('damaged')).toMatch(/^damaged\/run.json: .*seed/);
    expect(problem('not-json')).toMatch(/^not-json\/run.json.*JSON/);
    expect(problem('unknown-key')).toMatch(/^unknown-key\/run.json.*colour/);
    expect(problem('other-format')).toMatch(/^other-format\/run.json: format/);
    expect(scanRunFolders(runs).find((r) => r.id === 'stopped')!.message).toMatch(/stopped before it ended/);
  });

  it('reads whole lines from an offset: a line still being written waits; a file now shorter starts again', () => {
    const path = join(runs, 'live', 'metrics.jsonl');
    const first = readCompleteLines(path, 0);
    expect(first.text).toBe(step(0) + step(1));
    expect(first.next).toBe(Buffer.byteLength(step(0) + step(1)));
    expect(readCompleteLines(path, first.next)).toEqual({ text: '', next: first.next, reset: false });
    expect(readCompleteLines(path, 10_000)).toMatchObject({ text: step(0) + step(1), reset: true });
    expect(readCompleteLines(join(runs, 'none.jsonl'), 0)).toEqual({ text: '', next: 0, reset: false });
    // A file that went away (its folder rerun) starts the reader again from its start.
    expect(readCompleteLines(join(runs, 'none.jsonl'), 50)).toEqual({ text: '', next: 0, reset: true });
  });
});

describe('catapult lab: the server', () => {
  it('answers the list and a run’s metrics from an offset, and serves the site with its security policy', async () => {
    const list = await get('/api/runs');
    expect(list.headers.get('content-type')).toBe('application/json');
    const body = (await list.json()) as { dir: string; runs: { id: string; config: { steps: number } }[] };
    expect(body.dir).toBe(runs);
    expect(body.runs.find((r) => r.id === 'live')!.config.steps).toBe(3);
    const metrics = await get('/api/metrics?run=live&from=0');
    expect(await metrics.text()).toBe(step(0) + step(1));
    const next = metrics.headers.get('x-next-offset')!;
    expect(await (await get(`/api/metrics?run=live&from=${next}`)).text()).toBe('');
    expect((await get('/api/metrics?run=sweep-a%2Fschedule.lr%3D1%2Fseed-0&from=0')).status).toBe(200);
    const page = await get('/');
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(await page.text()).toContain('<title>lab</title>');
  });

  it('refuses what it must, with a message naming what was wrong', async () => {
    const refused = async (path: string, status: number, pattern: RegExp, headers: Record<string, string> = {}, method = 'GET') => {
      const r = await get(path, headers, method);
      expect(r.status, path).toBe(status);
      expect(((await r.json()) as { error: string }).error, path).toMatch(pattern);
    };
    const rebound = await fromHost('/api/runs', 'evil.example:80');
    expect(rebound.status).toBe(403);
    expect(rebound.body).toMatch(/host \\"evil.example\\" refused: the lab answers on localhost only/);
    await refused('/api/runs', 405, /POST refused/, {}, 'POST');
    await refused('/api/metrics?run=..%2Fsecret.txt&from=0', 404, /no run folder "..\/secret.txt"/);
    await refused('/api/metrics?run=.hidden&from=0', 404, /no run folder ".hidden"/);
    await refused('/api/metrics?run=nowhere&from=0', 404, /no run folder "nowhere"/);
    await refused('/api/metrics?run=live&from=-1', 400, /from must be a byte offset/);
    await refused('/api/metrics?run=live&from=1e3', 400, /from must be a byte offset/);
    await refused('/api/frob', 404, /the lab answers \/api\/runs and \/api\/metrics/);
    await refused('/%2e%2e/secret.txt', 404, /no /);
    await refused('/nothing.js', 404, /no \/nothing.js/);
  });
});
