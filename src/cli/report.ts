// `catapult report DIR`: a self-contained report.html for a run or a sweep folder (its charts inlined as
// SVG, so it opens offline from anywhere and runs no script at all), each chart also as chart-ID.svg, and
// as chart-ID.png at 2× rendered from that SVG in headless Chromium. The charts are the lab's: the same
// definitions (src/charts/figure.ts) drawn by the same SVG renderer (src/charts/svg.ts) as its exports.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { parseMetricsJsonl, type ParsedMetrics } from '../run/export.ts';
import { fileProblem } from './file-problem.ts';
import type { EvalRecord, StepRecord } from '../run/train.ts';
import { figuresOf, PALETTE, runEnd, sweepFigure, type ChartRun, type Figure, type SweepCurve } from '../charts/figure.ts';
import { figureSvg } from '../charts/svg.ts';
import { readAggregate, readSummary, readSweep, type SummaryFile } from '../run/run-folder.ts';
import { TRACKED_EIGENVALUES } from '../track/registry.ts';

// Everything a run folder holds is data: each value reaches the page escaped (any type, as text; the SVG
// renderer escapes its labels too), and the page's Content-Security-Policy runs no script at all, so even
// markup that escaped escaping could not run any.
/** Any JSON value as text (an object's own "toString" key is data, not a method). */
const text = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
const escapeHtml = (v: unknown) => text(v).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A file or folder name that stays where it is joined: letters, digits, '.', '_', '=', ',', '-', no leading dot. */
export const SAFE_NAME = /^[A-Za-z0-9_=,-][A-Za-z0-9._=,-]{0,254}$/;

/** A file of a run folder as text; a missing, folder or unreadable path is a RangeError naming it. */
function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new RangeError(`${path}: ${fileProblem(e, 'read')}`);
  }
}

const fmt = (v: unknown): string => {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3 ? v.toExponential(3) : v.toPrecision(4);
  return escapeHtml(v);
};

function table(header: string[], rows: unknown[][]): string {
  return `<table><thead><tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${fmt(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

const POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/** A report: its page, and each chart the page shows as its SVG (drawn once, also written as chart files). */
export interface Report {
  html: string;
  charts: { id: string; svg: string }[];
}

function page(title: string, body: string, figures: Figure[]): Report {
  const charts = figures.map((f) => ({ id: f.id, svg: figureSvg(f) }));
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${POLICY}"><title>${escapeHtml(title)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 820px; padding: 0 12px; color: #222; background: #fff; }
h1 { font-size: 22px; } h2 { font-size: 15px; margin: 18px 0 4px; }
table { border-collapse: collapse; margin: 8px 0; } td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
.chart { margin: 12px 0; } .chart svg { max-width: 100%; height: auto; display: block; }
pre { background: #f6f6f6; padding: 8px; overflow-x: auto; font-size: 12px; } .note { color: #555; }
</style></head><body>
${body}
<div id="charts">
${charts.map((c) => `<section class="chart" id="chart-${escapeHtml(c.id)}">${c.svg}</section>`).join('\n')}
</div>
</body></html>
`;
  return { html, charts };
}

export interface RunFolder extends ParsedMetrics {
  summary: SummaryFile;
}

/** A run folder's summary.json and metrics.jsonl, each checked against its format (src/run/run-folder.ts). */
export function readRunFolder(dir: string): RunFolder {
  const summaryPath = join(dir, 'summary.json');
  if (!existsSync(summaryPath)) throw new RangeError(`${dir} has no summary.json: not a run folder (catapult run writes one)`);
  const summary = readSummary(readText(summaryPath), summaryPath);
  const metricsPath = join(dir, 'metrics.jsonl');
  const metrics = existsSync(metricsPath) ? parseMetricsJsonl(readText(metricsPath), metricsPath) : { records: [], evals: [] };
  return { summary, ...metrics };
}

/** A run folder's report. */
export function runReport(dir: string): Report {
  const { summary: s, records, evals, cutLastLine } = readRunFolder(dir);
  const title = `${text(s.preset ?? 'run')}${s.variant ? ` (${text(s.variant)})` : ''}, seed ${text(s.seed)}`;
  const headline = Object.entries(s.headline).map(([k, v]) => [k, v]);
  const spikes = s.spikes.map((p) => [p.start, p.peak, p.end ?? '—', p.height, p.duration ?? '—', p.lambdaDrop ?? '—']);
  const body = [
    `<h1>${escapeHtml(title)}</h1>`,
    s.paper ? `<p>${escapeHtml(s.summaryText ?? '')} <span class="note">(paper: ${escapeHtml(s.paper)})</span></p>` : '',
    `<p>Status <b>${escapeHtml(s.status)}</b> after ${fmt(s.steps)} steps${s.message ? ` (${escapeHtml(s.message)})` : ''}. Adapter: ${escapeHtml(s.adapter ?? 'unknown')}. Code ${escapeHtml(s.codeVersion ?? 'unknown')}, scale ${escapeHtml(s.scale ?? '—')}.</p>`,
    s.initialCriticalRate ? `<p>η_crit at initialization (${escapeHtml(s.initialCriticalRate.unit)}): ${fmt(s.initialCriticalRate.value)}; the schedule's rates are multiples of it.</p>` : '',
    '<h2>Headline numbers</h2>',
    table(['quantity', 'value'], headline),
    cutLastLine ? '<p class="note">The last line of metrics.jsonl was cut short (the run was killed while writing it) and is left out.</p>' : '',
    `<h2>Catapult spikes (${spikes.length}; ${fmt(s.criticalSteps.length)} steps with η &gt; η_crit(batch))</h2>`,
    spikes.length ? table(['start', 'peak', 'back at start level', 'height', 'duration', 'λ_max drop'], spikes) : '<p>none</p>',
    ...convergenceSection(s),
    ...matchSection(s),
    ...(s.notes.length ? ['<h2>Notes</h2>', `<ul>${s.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>`] : []),
    `<details><summary>Config</summary><pre>${escapeHtml(JSON.stringify(s.config, null, 2))}</pre></details>`,
  ].join('\n');
  return page(title, body, runFigures(s, records, evals));
}

/** A run folder's charts: every chart of the lab that has data, from the records and the summary's spikes. */
function runFigures(s: SummaryFile, records: StepRecord[], evals: EvalRecord[]): Figure[] {
  const tracking = s.config.tracking as { set?: { examples?: unknown } } | undefined;
  const examples = tracking?.set?.examples;
  const end = runEnd(s.status, records);
  const run: ChartRun = {
    name: `${text(s.preset)} seed ${text(s.seed)}`,
    color: PALETTE[0],
    config: s.config as ChartRun['config'],
    records,
    evals,
    trackedExamples: typeof examples === 'number' ? examples : undefined,
    spikes: s.spikes.map((p) => p.peak),
    ...(end ? { end } : {}),
  };
  return figuresOf([run]);
}

/**
 * Both match rates side by side with their definitions (or why one could not be computed), then what explains
 * the total-loss rate: ignoring small increases, and η/η_crit(batch) at the steps whose loss rose.
 */
function matchSection(s: SummaryFile): string[] {
  const rates = s.matchRates;
  const both = rates
    ? [
        '<h2>Match rates (Table 2)</h2>',
        table(
          ['match rate', 'rises', 'at critical steps', 'rate', 'definition'],
          Object.values(rates).map((line, i) => [i === 0 ? 'total loss' : 'own batch', line.unavailable ? '—' : line.increases, line.unavailable ? '—' : line.matched, line.unavailable ? `not computed: ${line.unavailable}` : line.rate, line.definition]),
        ),
        '<p class="note">To first order a step below η_crit(batch) multiplies its batch\'s residual by I − 2ηK_B/b, whose eigenvalues lie in (−1, 1]: the batch\'s own loss can then rise only at a critical step, while the loss of the points outside the batch can rise at any step.</p>',
      ]
    : [];
  const m = s.matchAnalysis;
  if (!m) return both;
  const rows = m.thresholds.map((t) => [`> ${fmt(t.threshold)}`, t.increases, t.matched, t.matchRate]);
  const ratio = m.ratioAtIncreases;
  return [
    ...both,
    '<h2>Total-loss match rate, increases ignored below a relative threshold</h2>',
    table(['relative increase counted', 'increases', 'at critical steps', 'match rate'], rows),
    ratio ? `<p>η/η_crit(batch) at the steps whose loss rose: ${ratio.quantiles.map((q, i) => `${q === 0 ? 'min' : q === 1 ? 'max' : `q${q}`} ${fmt(ratio.values[i])}`).join(', ')}. Of ${m.nearCritical.notCritical} rises at steps that were not critical, ${m.nearCritical.within20Percent} had η within 20 % of η_crit(batch).</p>` : '',
  ];
}

/** The convergence of each tracked eigenvalue: how many steps' values are within the tolerance, and the worst. */
function convergenceSection(s: SummaryFile): string[] {
  const c = s.convergence;
  if (!c || Object.keys(c.quantities).length === 0) return [];
  const rows = TRACKED_EIGENVALUES.filter((q) => c.quantities[q.value]).map((q) => {
    const line = c.quantities[q.value];
    return [q.label, line.tracked, line.unconverged, line.worstResidual, line.firstUnconverged ?? '—'];
  });
  return [
    `<h2>Convergence (relative residual ‖Kv − λv‖/λ at most ${fmt(c.tolerance)})</h2>`,
    table(['eigenvalue', 'steps tracked', 'not converged', 'largest residual', 'first not converged'], rows),
    '<p class="note">A value that has not converged is drawn apart in the charts (“not converged”, as points), not as part of its line.</p>',
  ];
}

/** Per step, the mean of a quantity over the seeds that reached it, with its least and largest value (null where none did). */
function acrossSeeds(curves: StepRecord[][], f: (r: StepRecord) => number | undefined): { mean: (number | null)[]; lo: (number | null)[]; hi: (number | null)[] } {
  const steps = Math.max(0, ...curves.map((c) => c.length));
  const mean: (number | null)[] = [];
  const lo: (number | null)[] = [];
  const hi: (number | null)[] = [];
  for (let i = 0; i < steps; i++) {
    const xs = curves.map((c) => (c[i] ? f(c[i]) : undefined)).filter((v): v is number => v !== undefined && Number.isFinite(v));
    mean.push(xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
    lo.push(xs.length ? Math.min(...xs) : null);
    hi.push(xs.length ? Math.max(...xs) : null);
  }
  return { mean, lo, hi };
}

/** Each combination of a sweep with a finished seed: its mean loss and λ_max over seeds, with the least and largest. */
export function sweepCurves(dir: string): { loss: SweepCurve[]; lambda: SweepCurve[] } {
  const sweep = readSweep(readText(join(dir, 'sweep.json')), join(dir, 'sweep.json'));
  const loss: SweepCurve[] = [];
  const lambda: SweepCurve[] = [];
  for (const combo of sweep.combos) {
    // A folder name from the file, never a path: nothing outside the sweep's folder is read.
    if (!SAFE_NAME.test(combo.folder)) throw new RangeError(`${join(dir, 'sweep.json')}: combination folder ${JSON.stringify(combo.folder)} is not a plain folder name`);
    const seeds = Array.from({ length: sweep.seeds }, (_, s) => join(dir, combo.folder, `seed-${s}`)).filter((d) => existsSync(join(d, 'summary.json')));
    if (seeds.length === 0) continue;
    const curves = seeds.map((d) => readRunFolder(d).records);
    loss.push({ label: combo.label, seeds: seeds.length, ...acrossSeeds(curves, (r) => r.loss) });
    lambda.push({ label: combo.label, seeds: seeds.length, ...acrossSeeds(curves, (r) => r.lambda) });
  }
  return { loss, lambda };
}

/** A sweep folder's report: each combination's mean over seeds. */
export function sweepReport(dir: string): Report {
  const sweep = readSweep(readText(join(dir, 'sweep.json')), join(dir, 'sweep.json'));
  const aggregatePath = join(dir, 'aggregate.json');
  const aggregate = existsSync(aggregatePath) ? readAggregate(readText(aggregatePath), aggregatePath) : { header: [], rows: [] };
  const curves = sweepCurves(dir);
  const figures = [
    sweepFigure('loss', 'Training loss: mean over seeds, band from the least to the largest', 'loss (MSE)', curves.loss),
    sweepFigure('lambda', 'λ_max of the tracked set’s NTK: mean over seeds, band from the least to the largest', 'eigenvalue of K', curves.lambda),
  ].filter((f): f is Figure => f !== null);
  const body = [
    `<h1>Sweep of ${escapeHtml(sweep.preset)}</h1>`,
    `<p>Grid: ${escapeHtml(JSON.stringify(sweep.grid))}; ${fmt(sweep.seeds)} seed(s) each; scale ${escapeHtml(sweep.scale)}.</p>`,
    '<h2>Mean ± sd over seeds</h2>',
    table(aggregate.header, aggregate.rows),
  ].join('\n');
  return page(`sweep ${sweep.preset}`, body, figures);
}

export const runReportHtml = (dir: string): string => runReport(dir).html;
export const sweepReportHtml = (dir: string): string => sweepReport(dir).html;

/**
 * Writes each chart of report.html as chart-ID.svg, and as chart-ID.png at 2× rendered from that SVG in
 * headless Chromium (CATAPULT_CHROMIUM or /usr/bin/chromium) unless `png` is false. Returns the files written.
 */
async function writeChartFiles(dir: string, charts: Report['charts'], png: boolean): Promise<string[]> {
  // File names from the charts' ids (names from CHARTS, checked to be plain file names all the same).
  const svgs = charts.filter((c) => SAFE_NAME.test(c.id));
  const written: string[] = [];
  for (const { id, svg } of svgs) {
    const file = join(dir, `chart-${id}.svg`);
    writeFileSync(file, `<?xml version="1.0" encoding="UTF-8"?>\n${svg}\n`);
    written.push(file);
  }
  if (!png || svgs.length === 0) return written;
  const { chromium } = await import('playwright');
  const executablePath = process.env.CATAPULT_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) throw new Error(`no Chromium at ${executablePath} for the PNG images (apt-get install -y chromium, or set CATAPULT_CHROMIUM)`);
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const p = await browser.newPage({ viewport: { width: 800, height: 600 }, deviceScaleFactor: 2, javaScriptEnabled: false });
    for (const { id, svg } of svgs) {
      await p.setContent(`<!doctype html><html><head><meta http-equiv="Content-Security-Policy" content="${POLICY}"><style>body{margin:0;background:#fff}</style></head><body>${svg}</body></html>`);
      const file = join(dir, `chart-${id}.png`);
      await p.locator('svg').first().screenshot({ path: file });
      written.push(file);
    }
    return written;
  } finally {
    await browser.close();
  }
}

/** Writes report.html and its charts (SVG, and PNG unless `png` is false) for a run or sweep folder; returns the paths written. */
export async function writeReport(dir: string, options: { png?: boolean } = {}): Promise<string[]> {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new RangeError(`${dir} is a file: give the run or sweep folder that holds summary.json or sweep.json`);
  const isSweep = existsSync(join(dir, 'sweep.json'));
  const { html, charts } = isSweep ? sweepReport(dir) : runReport(dir);
  const path = join(dir, 'report.html');
  writeFileSync(path, html);
  return [path, ...(await writeChartFiles(dir, charts, options.png ?? true))];
}
