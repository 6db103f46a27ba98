// `catapult lab [DIR]`: the lab served from this machine with every run folder under DIR listed, as
// TensorBoard's logdir: the page asks for the list and for each run's metrics.jsonl from the byte it has
// read up to, once a second, so a run started from the command line grows on screen as it trains.
//
// What it serves: the built lab (lib/site in an installed package; built by Vite on start in a checkout)
// and three read-only answers under /api/. A run is named by its folder's path below DIR, each part a plain
// name, and only folders found by the scan are answered for: no request reaches a file outside DIR or any
// file of a run but run.json, summary.json and metrics.jsonl. It listens on localhost only and refuses a
// Host header that is not localhost's (a web page elsewhere cannot read the runs through DNS rebinding).
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, relative, sep } from 'node:path';
import { readRunStart, readSummary, type FolderRun } from '../run/run-folder.ts';
import { runFolderOwner } from './experiment.ts';
import { packageRoot } from './package-root.ts';
import { SAFE_NAME } from './report.ts';

const MAX_DEPTH = 4;

/** The run folders under dir (depth ≤ 4; hidden folders and node_modules skipped), sorted by path. */
export function scanRunFolders(dir: string): FolderRun[] {
  const runs: FolderRun[] = [];
  const visit = (path: string, parts: string[]) => {
    const hasStart = existsSync(join(path, 'run.json'));
    const hasSummary = existsSync(join(path, 'summary.json'));
    if (hasStart || hasSummary) runs.push(readFolderRun(path, parts.join('/'), hasSummary));
    if (parts.length >= MAX_DEPTH) return;
    let entries;
    try {
      entries = readdirSync(path, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory() && e.name !== 'node_modules' && SAFE_NAME.test(e.name)) visit(join(path, e.name), [...parts, e.name]);
  };
  visit(dir, []);
  return runs.sort((a, b) => a.id.localeCompare(b.id));
}

function readFolderRun(path: string, id: string, hasSummary: boolean): FolderRun {
  const name = id || '.';
  try {
    if (hasSummary) {
      const s = readSummary(readFileSync(join(path, 'summary.json'), 'utf8'), `${name}/summary.json`);
      return { id, preset: s.preset, variant: s.variant, scale: s.scale, seed: s.seed, status: s.status, ...(s.message ? { message: s.message } : {}), adapter: s.adapter, config: s.config, headline: s.headline };
    }
    const r = readRunStart(readFileSync(join(path, 'run.json'), 'utf8'), `${name}/run.json`);
    const running = runFolderOwner(path) !== null;
    return { id, preset: r.preset, variant: r.variant, scale: r.scale, seed: r.seed, status: running ? 'running' : 'interrupted', ...(running ? {} : { message: 'no summary.json and no process writing the folder: the run was stopped before it ended' }), adapter: r.adapter, config: r.config };
  } catch (e) {
    return { id, preset: '?', variant: null, scale: '?', seed: 0, status: 'unreadable', adapter: '', config: {}, problem: (e as Error).message };
  }
}

/** The bytes of a file from `from` up to its last complete line; a file now shorter than `from` was rewritten: read from 0. */
export function readCompleteLines(path: string, from: number): { text: string; next: number; reset: boolean } {
  if (!existsSync(path)) return { text: '', next: 0, reset: from > 0 };
  const size = statSync(path).size;
  const reset = size < from;
  const start = reset ? 0 : from;
  const buffer = Buffer.alloc(size - start);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, buffer, 0, buffer.length, start);
  } finally {
    closeSync(fd);
  }
  const end = buffer.lastIndexOf(0x0a) + 1;
  return { text: buffer.subarray(0, end).toString('utf8'), next: start + end, reset };
}

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.gz': 'application/octet-stream', '.svg': 'image/svg+xml', '.png': 'image/png', '.wasm': 'application/wasm' };
// The page runs only its own scripts; nothing a run folder holds is ever markup on it (the lab writes text).
const POLICY = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'x-content-type-options': 'nosniff', 'cache-control': 'no-store', ...headers }).end(body);
}

const problem = (res: ServerResponse, status: number, message: string) => send(res, status, 'application/json', JSON.stringify({ error: message }));

/** The request handler: the API under /api/, the site's files otherwise. */
export function labHandler(dir: string, site: string, port: () => number): (req: IncomingMessage, res: ServerResponse) => void {
  let known = new Map<string, FolderRun>();
  const rescan = () => {
    const runs = scanRunFolders(dir);
    known = new Map(runs.map((r) => [r.id, r]));
    return runs;
  };
  const folderOf = (id: string | null): string | null => {
    if (id === null || (id !== '' && !id.split('/').every((p) => SAFE_NAME.test(p)))) return null;
    if (!known.has(id)) rescan();
    return known.has(id) ? join(dir, ...id.split('/').filter(Boolean)) : null;
  };
  return (req, res) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (!['localhost', '127.0.0.1', '[::1]'].includes(host)) return problem(res, 403, `host "${host}" refused: the lab answers on localhost only`);
    if (req.method !== 'GET' && req.method !== 'HEAD') return problem(res, 405, `${req.method} refused: the lab only reads`);
    const url = new URL(req.url ?? '/', `http://localhost:${port()}`);
    if (url.pathname === '/api/runs') return send(res, 200, 'application/json', JSON.stringify({ dir, runs: rescan() }));
    if (url.pathname === '/api/metrics') {
      const folder = folderOf(url.searchParams.get('run'));
      if (folder === null) return problem(res, 404, `no run folder "${url.searchParams.get('run')}" under ${dir}`);
      const from = url.searchParams.get('from') ?? '0';
      if (!/^\d{1,15}$/.test(from)) return problem(res, 400, `from must be a byte offset (an integer >= 0), got "${from}"`);
      const { text, next, reset } = readCompleteLines(join(folder, 'metrics.jsonl'), Number(from));
      return send(res, 200, 'application/x-ndjson; charset=utf-8', text, { 'x-next-offset': String(next), 'x-reset': String(reset) });
    }
    if (url.pathname.startsWith('/api/')) return problem(res, 404, `no ${url.pathname} (the lab answers /api/runs and /api/metrics?run=ID&from=N)`);
    let path = normalize(decodeURIComponent(url.pathname));
    if (path.endsWith('/')) path += 'index.html';
    const file = join(site, path);
    if (relative(site, file).split(sep)[0] === '..' || !existsSync(file) || !statSync(file).isFile()) return problem(res, 404, `no ${url.pathname}`);
    send(res, 200, TYPES[extname(file)] ?? 'application/octet-stream', readFileSync(file), extname(file) === '.html' ? { 'content-security-policy': POLICY } : {});
  };
}

/**
 * The built lab: lib/site in an installed package; in a checkout, built now by Vite (under a second) into
 * node_modules/.cache, so it is always the checkout's own code.
 */
export async function labSite(log: (line: string) => void): Promise<string> {
  const packaged = join(packageRoot, 'lib', 'site');
  if (!existsSync(join(packageRoot, 'src', 'app', 'main.ts')) && existsSync(join(packaged, 'index.html'))) return packaged;
  const outDir = join(packageRoot, 'node_modules', '.cache', 'catapult-lab', 'site');
  const vite = (await import('vite')) as typeof import('vite');
  log('building the lab (Vite)…');
  await vite.build({ root: packageRoot, configFile: join(packageRoot, 'vite.config.ts'), logLevel: 'error', build: { outDir, emptyOutDir: true } });
  return outDir;
}

/** Serves the lab for `dir` on localhost:port (0: any free port); resolves once it listens. */
export async function serveLab(dir: string, site: string, port: number): Promise<{ url: string; close: () => Promise<void> }> {
  let bound = port;
  const server = createServer(labHandler(dir, site, () => bound));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE' ? new RangeError(`port ${port} is in use: give another --port (or 0 for any free one)`) : e));
    server.listen(port, 'localhost', resolve);
  });
  bound = (server.address() as AddressInfo).port;
  return { url: `http://localhost:${bound}/`, close: () => new Promise((done) => server.close(() => done())) };
}
