// The lab page: pick a preset, edit its config, run it on the browser's WebGPU adapter and watch the
// charts; compare runs (each keeps its colour on every chart), smooth noisy losses, export any chart as SVG
// or PNG. The lab's own runs are kept in IndexedDB across reloads; served by `catapult lab DIR`, the page
// also lists the folder's runs and follows the running ones. The URL holds preset, scale, variant, seed
// and overrides, so a shared link reproduces the run.
import 'uplot/dist/uPlot.min.css';
import './lab.css';
import { describeAdapter, type Gpu } from '../gpu/gpu.ts';
import { runEnd, type ChartRun } from '../charts/figure.ts';
import { catapultSeries, headlineText, type MatchRateLine, type MatchRates } from '../run/summary.ts';
import { detectCatapults, type Spike } from '../run/catapults.ts';
import { findPreset, PRESETS, SCALES, type Scale } from '../run/presets.ts';
import type { RunStatus } from '../run/train.ts';
import { requestBrowserGpu } from './browser-gpu.ts';
import { LabCharts } from './charts.ts';
import { configDifferences, runColor, shortName, sortRows, type SortValue } from './compare.ts';
import { checkLabConfig, configFields, type ConfigField } from './config-fields.ts';
import { folderConfig, listFolderRuns, MetricsTail, type FolderRun } from './folder-runs.ts';
import { labStateQuery, readLabState, type LabState } from './lab-state.ts';
import { LabRun, type LabRunData } from './lab-run.ts';
import { exportName, fromExport, readRunFiles, runCsv, runJson, summaryOf, trainSizeOf } from './run-files.ts';
import { RunStore } from './run-store.ts';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  adapter: $('adapter'),
  notice: $('notice'),
  linkError: $('link-error'),
  preset: $<HTMLSelectElement>('preset'),
  presetInfo: $('preset-info'),
  scale: $<HTMLSelectElement>('scale'),
  variant: $<HTMLSelectElement>('variant'),
  variantRow: $('variant-row'),
  seed: $<HTMLInputElement>('seed'),
  fields: $('fields'),
  configError: $('config-error'),
  run: $<HTMLButtonElement>('run'),
  pause: $<HTMLButtonElement>('pause'),
  step: $<HTMLButtonElement>('step'),
  reset: $<HTMLButtonElement>('reset'),
  share: $<HTMLAnchorElement>('share'),
  progress: $('progress'),
  announce: $('announce'),
  runMessage: $('run-message'),
  headline: $('headline'),
  matchRates: $('match-rates'),
  smoothing: $<HTMLInputElement>('smoothing'),
  smoothingValue: $('smoothing-value'),
  charts: $('charts'),
  events: $<HTMLTableSectionElement>('events-body'),
  runsHead: $<HTMLTableRowElement>('runs-head'),
  runs: $<HTMLTableSectionElement>('runs-body'),
  folder: $('folder'),
  load: $<HTMLInputElement>('load'),
  loadError: $('load-error'),
  storeNote: $('store-note'),
};

/** A run in the page: one the lab ran, a file loaded, or a run folder that `catapult lab` serves. */
interface KeptRun {
  /** Its number in the page (its colour and short name follow from it, and stay). */
  id: number;
  name: string;
  color: string;
  source: 'lab' | 'file' | 'folder';
  data: LabRunData;
  live: LabRun | null;
  overlay: boolean;
  folder?: { info: FolderRun; tail: MetricsTail; read: boolean; error?: string };
}

const link = readLabState(location.search);
let state: LabState = link.state;
let gpu: Gpu | null = null;
let gpuError: string | null = null;
const runs: KeptRun[] = [];
let shown: KeptRun | null = null;
let active: LabRun | null = null;
let nextId = 1;
let store: RunStore | null = null;
let sort: { column: string; descending: boolean } | null = null;
const save = (name: string, blob: Blob) => download(name, blob);
const charts = new LabCharts(ui.charts, save);

const keep = (run: Omit<KeptRun, 'id' | 'name' | 'color'> & { id?: number; name?: string; color?: string }): KeptRun => {
  const id = run.id ?? nextId;
  nextId = Math.max(nextId, id + 1);
  const d = run.data;
  const kept = { ...run, id, name: run.name ?? shortName(id, d.state.preset, d.state.seed, d.state.variant), color: run.color ?? runColor(id) };
  runs.push(kept);
  return kept;
};

// --- the config editor ---------------------------------------------------------------------------------

function fillPresetPicker(): void {
  for (const p of PRESETS) ui.preset.add(new Option(`${p.name} — ${p.paper}`, p.name));
}

/** The form from the state: preset, scale, variant, seed, and one input per config field. */
function renderForm(): void {
  const preset = findPreset(state.preset);
  ui.preset.value = state.preset;
  ui.scale.value = state.scale;
  ui.seed.value = String(state.seed);
  ui.presetInfo.textContent = `${preset.paper}: ${preset.summary}`;
  ui.variant.replaceChildren(new Option('(none)', ''), ...Object.keys(preset.variants ?? {}).map((v) => new Option(v, v)));
  ui.variantRow.hidden = !preset.variants;
  ui.variant.value = state.variant ?? '';
  const base = checkLabConfig({ ...state, set: [] });
  const fields = base.ok ? configFields(base.config) : [];
  // Overrides of keys the preset does not have (e.g. tracking.spectrum.top) get a row of their own.
  for (const [key, text] of state.set) if (!fields.some((f) => f.key === key)) fields.push({ key, text, spec: null });
  const overrides = new Map(state.set);
  ui.fields.replaceChildren(
    ...fields.map((f) => {
      const row = document.createElement('label');
      row.className = 'field';
      row.dataset.key = f.key;
      const name = document.createElement('span');
      name.textContent = f.key;
      const input = fieldControl(f, overrides.get(f.key) ?? f.text);
      input.name = f.key;
      input.dataset.default = f.text;
      input.addEventListener('change', onFieldsEdited);
      const help = document.createElement('span');
      help.className = 'field-help';
      help.textContent = f.spec?.help ?? '';
      const error = document.createElement('span');
      error.className = 'field-error';
      row.append(name, input, help, error);
      return row;
    }),
  );
  validate();
}

/** A field's control, typed from the schema: a choice of its values, a number within its range, else text. */
function fieldControl(f: ConfigField, value: string): HTMLInputElement | HTMLSelectElement {
  if (f.spec?.choices) {
    const select = document.createElement('select');
    // A value from a link that is no choice stays shown (and fails validation) rather than being replaced.
    const values = f.spec.choices.includes(value) ? f.spec.choices : [...f.spec.choices, value];
    select.append(...values.map((v) => new Option(v, v)));
    select.value = value;
    return select;
  }
  const input = document.createElement('input');
  input.spellcheck = false;
  input.value = value;
  const n = f.spec?.number;
  if (n && /^-?[\d.eE+-]+$/.test(value)) {
    input.type = 'number';
    input.step = n.integer ? '1' : 'any';
    if (n.min !== undefined) input.min = String(n.min);
    if (n.max !== undefined) input.max = String(n.max);
  }
  return input;
}

/** The overrides are the fields whose text differs from the preset's. */
function onFieldsEdited(): void {
  const set: [string, string][] = [];
  for (const input of ui.fields.querySelectorAll<HTMLInputElement | HTMLSelectElement>('input, select')) {
    const text = input.value.trim();
    if (text !== input.dataset.default) set.push([input.name, text]);
  }
  state = { ...state, set };
  validate();
}

/** The check of the form as it stands; validate() renews it whenever the form changes. */
let lastCheck: ReturnType<typeof checkLabConfig> = { ok: false, key: null, message: 'not checked yet' };

/** Checks the config, marks the field at fault, and keeps the URL in step with a valid one. */
function validate(): ReturnType<typeof checkLabConfig> {
  const check = (lastCheck = checkLabConfig(state));
  for (const row of ui.fields.querySelectorAll<HTMLElement>('.field')) {
    const bad = !check.ok && check.key === row.dataset.key;
    row.classList.toggle('invalid', bad);
    row.querySelector('.field-error')!.textContent = bad && !check.ok ? check.message : '';
  }
  ui.seed.classList.toggle('invalid', !check.ok && check.key === 'seed');
  ui.configError.textContent = check.ok ? '' : check.message;
  const query = labStateQuery(state);
  history.replaceState(null, '', query);
  ui.share.href = query;
  updateButtons();
  return check;
}

ui.preset.addEventListener('change', () => {
  state = { preset: ui.preset.value, scale: state.scale, seed: state.seed, set: [] };
  renderForm();
});
ui.scale.addEventListener('change', () => {
  state = { ...state, scale: ui.scale.value as Scale, set: [] };
  renderForm();
});
ui.variant.addEventListener('change', () => {
  state = { ...state, set: [] };
  if (ui.variant.value) state.variant = ui.variant.value;
  else delete state.variant;
  renderForm();
});
ui.seed.addEventListener('change', () => {
  state = { ...state, seed: /^\d+$/.test(ui.seed.value.trim()) ? Number(ui.seed.value) : NaN };
  validate();
});

// --- running -------------------------------------------------------------------------------------------

async function ensureGpu(): Promise<Gpu | null> {
  if (gpu && !gpu.isLost) return gpu;
  try {
    gpu = await requestBrowserGpu();
    gpuError = null;
    const a = gpu.adapter;
    ui.adapter.textContent = `adapter: ${describeAdapter(a)}`;
    ui.adapter.dataset.software = String(a.isSoftware);
    ui.notice.textContent = a.isSoftware
      ? 'This is a software adapter (WebGPU running on the CPU): runs take minutes where a GPU takes seconds. For a hardware adapter use Chrome or Edge 113+ with GPU acceleration on (see chrome://gpu).'
      : '';
  } catch (e) {
    gpu = null;
    gpuError = (e as Error).message;
    ui.adapter.textContent = 'no WebGPU adapter';
    ui.notice.textContent = gpuError;
  }
  ui.notice.hidden = ui.notice.textContent === '';
  updateButtons();
  return gpu;
}

async function startRun(paused: boolean): Promise<void> {
  const check = validate();
  if (!check.ok || active) return;
  const device = await ensureGpu();
  if (!device) return;
  const run = new LabRun(structuredClone(state), check.config, describeAdapter(device.adapter), () => {
    scheduleRender();
    persistSoon(kept);
  });
  if (paused) run.pause();
  const kept = keep({ source: 'lab', data: run, live: run, overlay: false });
  shown = kept;
  active = run;
  ui.runMessage.textContent = '';
  updateButtons();
  scheduleRender();
  if (paused) run.step();
  await run.start(device);
  active = null;
  kept.data = run.data();
  kept.live = null;
  void persist(kept);
  if (run.status === 'lost') ui.notice.textContent = `${run.message}. The next run asks for a new device.`;
  ui.notice.hidden = ui.notice.textContent === '';
  updateButtons();
  scheduleRender();
}

ui.run.addEventListener('click', () => void startRun(false));
ui.pause.addEventListener('click', () => {
  if (!active) return;
  if (active.pauseRequested) active.resume();
  else active.pause();
  updateButtons();
});
ui.step.addEventListener('click', () => {
  if (active) active.step();
  else void startRun(true);
});
ui.reset.addEventListener('click', () => {
  // The run ends (its data stays in the list of runs); the dashboard is cleared for a fresh run.
  active?.stop();
  shown = null;
  scheduleRender();
});

function updateButtons(): void {
  const check = lastCheck;
  ui.run.disabled = Boolean(active) || !check.ok || gpuError !== null;
  ui.step.disabled = (!active && (!check.ok || gpuError !== null)) || (active !== null && active.status !== 'paused');
  ui.pause.disabled = !active;
  ui.pause.textContent = active && active.pauseRequested ? 'Resume' : 'Pause';
  ui.reset.disabled = !active && !shown;
}

// --- keeping runs across reloads -----------------------------------------------------------------------

/** Stores a lab or loaded run (folder runs stay in their folder). */
async function persist(kept: KeptRun): Promise<void> {
  if (!store || kept.source === 'folder' || !runs.includes(kept)) return;
  try {
    await store.put({ id: kept.id, name: kept.name, color: kept.color, source: kept.source, json: runJson(kept.live ?? kept.data) });
  } catch (e) {
    ui.storeNote.textContent = `This run could not be kept for the next visit: ${(e as Error).message}`;
  }
}

/** While a run trains: stored at most every 5 s, so a reload keeps the steps it had reached. */
const persistTimers = new Map<number, number>();
function persistSoon(kept: KeptRun): void {
  if (persistTimers.has(kept.id)) return;
  persistTimers.set(
    kept.id,
    window.setTimeout(() => {
      persistTimers.delete(kept.id);
      void persist(kept);
    }, 5000),
  );
}

/** The runs kept by an earlier visit; one the page left while it ran is "stopped" with every step it had. */
async function restoreRuns(): Promise<void> {
  store = await RunStore.open();
  if (!store) {
    ui.storeNote.textContent = 'This browser gives the page no IndexedDB: runs last until the page is closed.';
    return;
  }
  const bad: string[] = [];
  for (const s of (await store.all()).sort((a, b) => a.id - b.id)) {
    try {
      const data = fromExport({ name: `kept run ${s.name}`, text: s.json }, '');
      if (['starting', 'running', 'paused'].includes(data.status)) {
        data.status = 'stopped';
        data.message = 'the page was closed or reloaded while this run trained; every step it had reached is kept';
        data.summary = summaryOf(data.config, data.state.preset, 'stopped', data.records, data.evals, data.trainSize);
      }
      keep({ id: s.id, name: s.name, color: s.color, source: s.source === 'file' ? 'file' : 'lab', data, live: null, overlay: false });
    } catch (e) {
      bad.push(`${s.name}: ${(e as Error).message}`);
    }
  }
  ui.storeNote.textContent = bad.length ? `Kept runs that could not be read (left in storage): ${bad.join('; ')}` : '';
  shown ??= runs.at(-1) ?? null;
}

// --- the runs of `catapult lab DIR` ----------------------------------------------------------------------

const FOLDER_POLL_MS = 1000;
const ENDED = new Set(['completed', 'converged', 'diverged', 'lost', 'stopped', 'interrupted', 'unreadable']);

function folderRunData(info: FolderRun): LabRunData {
  const config = folderConfig(info);
  const scale = SCALES.includes(info.scale as Scale) ? (info.scale as Scale) : 'quick';
  return {
    label: `${info.id || '.'} (folder)`,
    state: { preset: info.preset, scale, seed: info.seed, set: [], ...(info.variant ? { variant: info.variant } : {}) },
    config,
    adapter: info.adapter,
    records: [],
    evals: [],
    status: (info.status === 'running' ? 'running' : info.status) as LabRunData['status'],
    message: info.message,
    trainSize: trainSizeOf(config),
    trackedExamples: config.tracking?.set?.examples,
  };
}

/** The folder's list and every followed run's new lines, once a second, for as long as the page is open. */
async function pollFolder(): Promise<void> {
  const listing = await listFolderRuns();
  if (!listing) return;
  ui.folder.hidden = false;
  ui.folder.textContent = `Run folders under ${listing.dir} (catapult lab): ${listing.runs.length}, checked every second.`;
  for (const info of listing.runs) {
    let kept = runs.find((r) => r.folder?.info.id === info.id);
    if (!kept) {
      let data: LabRunData;
      let error: string | undefined;
      try {
        if (info.problem) throw new RangeError(info.problem);
        data = folderRunData(info);
      } catch (e) {
        error = (e as Error).message;
        data = { label: `${info.id || '.'} (folder)`, state: { preset: info.preset, scale: 'quick', seed: info.seed, set: [] }, config: { steps: 0 } as LabRunData['config'], adapter: info.adapter, records: [], evals: [], status: 'failed', message: error };
      }
      kept = keep({ source: 'folder', data, live: null, overlay: false, folder: { info, tail: new MetricsTail(info.id), read: false, error } });
      if (!shown || (shown.source === 'folder' && shown.data.status !== 'running' && info.status === 'running')) shown = kept;
    }
    const f = kept.folder!;
    if (f.error) continue;
    const wasRunning = f.info.status === 'running';
    f.info = info;
    // Read: what is shown, compared or running; a finished run once more after it ends (its last lines).
    const wanted = kept === shown || kept.overlay || info.status === 'running' || (wasRunning && ENDED.has(info.status));
    if (!wanted) continue;
    try {
      const fresh = await f.tail.read();
      f.read = true;
      const d = kept.data;
      if (fresh.reset) {
        d.records = [];
        d.evals = [];
      }
      d.records.push(...fresh.records);
      d.evals.push(...fresh.evals);
      const changed = fresh.records.length > 0 || fresh.evals.length > 0 || fresh.reset || d.status !== info.status || !d.summary;
      d.status = info.status as LabRunData['status'];
      d.message = info.message;
      if (changed && ENDED.has(info.status) && info.status !== 'unreadable') {
        const status: RunStatus = info.status === 'interrupted' ? 'stopped' : (info.status as RunStatus);
        d.summary = summaryOf(d.config, d.state.preset, status, d.records, d.evals, d.trainSize);
      }
    } catch (e) {
      f.error = (e as Error).message;
      kept.data.status = 'failed';
      kept.data.message = f.error;
    }
  }
  scheduleRender();
}

async function followFolder(): Promise<void> {
  for (;;) {
    try {
      await pollFolder();
    } catch (e) {
      ui.folder.textContent = `The folder could not be read just now: ${(e as Error).message}`;
    }
    if (ui.folder.hidden) return; // not served by catapult lab
    await new Promise((done) => setTimeout(done, FOLDER_POLL_MS));
  }
}

// --- drawing -------------------------------------------------------------------------------------------

let frame = 0;
function scheduleRender(): void {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    render();
  });
}

function spikesOf(run: LabRunData): Spike[] {
  if (run.summary) return run.summary.spikes;
  if (run.trainSize === undefined || run.records.length === 0) return [];
  const series = catapultSeries(run.config, run.records, run.evals, run.trainSize);
  return detectCatapults(series.records, { batchLossOnly: series.batchLossOnly }).spikes;
}

const dataOf = (r: KeptRun) => r.live ?? r.data;

/** The runs on the charts: the one shown first, then the compared ones. */
function shownRuns(): KeptRun[] {
  return [...(shown ? [shown] : []), ...runs.filter((r) => r.overlay && r !== shown)];
}

function chartRun(r: KeptRun, spikes: Spike[]): ChartRun {
  const d = dataOf(r);
  const end = runEnd(d.status, d.records);
  return { name: r.name, color: r.color, config: d.config, records: d.records, evals: d.evals, trackedExamples: d.trackedExamples, spikes: spikes.map((s) => s.peak), ...(end ? { end } : {}) };
}

const smoothing = () => Number(ui.smoothing.value);

function render(): void {
  // The detector runs once per run drawn; the charts' markers and the events table share its spikes.
  const on = shownRuns().map((r) => ({ run: r, spikes: spikesOf(dataOf(r)) }));
  const data = shown ? dataOf(shown) : null;
  charts.update(on.map((x) => chartRun(x.run, x.spikes)), smoothing());
  renderProgress(data);
  renderEvents(on);
  renderRuns();
  updateButtons();
  document.body.dataset.state = active ? active.status : data ? data.status : 'idle';
}

let announced = '';
function renderProgress(data: LabRunData | null): void {
  if (!data) {
    ui.progress.textContent = '';
    ui.headline.textContent = '';
    return;
  }
  const steps = data.records.length ? data.records[data.records.length - 1].step + 1 : 0;
  let text = `${shown!.name}: ${data.status} · step ${steps} / ${data.config.steps}`;
  if (shown?.live) {
    const { stepsPerSecond, secondsLeft } = shown.live.rate;
    if (stepsPerSecond > 0) text += ` · ${stepsPerSecond.toPrecision(3)} steps/s · ${Number.isFinite(secondsLeft) ? `${secondsLeft.toFixed(0)} s left` : ''}`;
  }
  ui.progress.textContent = text;
  // Screen readers hear the status when it changes and each quarter of the run, not every step.
  const quarter = data.config.steps > 0 ? Math.floor((4 * steps) / data.config.steps) : 0;
  const say = `${shown!.name} ${data.status}${data.status === 'running' ? `, ${quarter * 25} percent` : ''}`;
  if (say !== announced) ui.announce.textContent = announced = say;
  ui.runMessage.textContent = data.message ?? '';
  ui.runMessage.className = data.status === 'diverged' || data.status === 'lost' || data.status === 'failed' ? 'error' : '';
  renderMatchRates(data.summary?.matchRates);
  const h = data.summary?.headline;
  ui.headline.textContent = h
    ? Object.entries(h)
        .map(([k, v]) => `${k} ${headlineText(v)}`)
        .join(' · ')
    : '';
}

/** Both match rates side by side, each with its counts or why it could not be computed, and its definition. */
function renderMatchRates(rates: MatchRates | undefined): void {
  ui.matchRates.replaceChildren();
  if (!rates) return;
  const names = { matchRate: 'total-loss match rate', ownBatchMatchRate: 'own-batch match rate' } as const;
  for (const [key, line] of Object.entries(rates) as [keyof MatchRates, MatchRateLine][]) {
    const item = document.createElement('span');
    item.className = 'match-rate';
    item.title = line.definition;
    item.textContent = line.unavailable
      ? `${names[key]}: not computed (${line.unavailable})`
      : `${names[key]} ${Number.isNaN(line.rate) ? '—' : `${(100 * line.rate).toPrecision(3)} %`} (${line.matched} of ${line.increases} rises at critical steps)`;
    const definition = document.createElement('small');
    definition.textContent = line.definition;
    item.append(document.createElement('br'), definition);
    ui.matchRates.append(item);
  }
}

const fmt = (v: number | null | undefined) => (v === null || v === undefined ? '—' : Number.isFinite(v) ? v.toPrecision(4) : String(v));

function swatch(color: string): HTMLElement {
  const s = document.createElement('span');
  s.className = 'run-swatch';
  s.style.background = color;
  return s;
}

function cell(...content: (string | Node)[]): HTMLTableCellElement {
  const td = document.createElement('td');
  td.append(...content);
  return td;
}

/** The catapult events of every run on the charts, from its records (never from the smoothed curves). */
function renderEvents(on: { run: KeptRun; spikes: Spike[] }[]): void {
  ui.events.replaceChildren(
    ...on.flatMap(({ run: r, spikes }) =>
      spikes.map((s) => {
        const tr = document.createElement('tr');
        tr.append(cell(swatch(r.color), r.name));
        for (const v of [String(s.peak), String(s.start), fmt(s.height), `×${fmt(s.ratio)}`, s.duration === null ? 'did not return' : String(s.duration), fmt(s.lambdaDrop)]) tr.append(cell(v));
        return tr;
      }),
    ),
  );
}

function button(text: string, onClick: () => void, title?: string): HTMLButtonElement {
  const b = document.createElement('button');
  b.textContent = text;
  if (title) b.title = title;
  b.addEventListener('click', onClick);
  return b;
}

function download(name: string, blob: Blob): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

const headlineOf = (r: KeptRun): Record<string, unknown> => (dataOf(r).summary?.headline as Record<string, unknown> | undefined) ?? r.folder?.info.headline ?? {};
const stepsOf = (r: KeptRun) => (r.source === 'folder' && !r.folder!.read ? null : dataOf(r).records.length);

/** The runs table: sortable by any column, with the config values the runs differ in and their headline numbers. */
function renderRuns(): void {
  const headlineKeys = [...new Set(runs.flatMap((r) => Object.keys(headlineOf(r))))];
  const columns: { key: string; label: string; value?: (r: KeptRun) => SortValue }[] = [
    { key: 'show', label: 'show' },
    { key: 'compare', label: 'compare' },
    { key: 'run', label: 'run', value: (r) => r.id },
    { key: 'status', label: 'status', value: (r) => dataOf(r).status },
    { key: 'steps', label: 'steps', value: stepsOf },
    ...headlineKeys.map((k) => ({ key: `h:${k}`, label: k, value: (r: KeptRun) => { const v = headlineOf(r)[k]; return typeof v === 'number' ? v : typeof v === 'string' ? v : null; } })),
    { key: 'differences', label: 'config differences' },
    { key: 'actions', label: 'export' },
  ];
  ui.runsHead.replaceChildren(
    ...columns.map((c) => {
      const th = document.createElement('th');
      th.scope = 'col';
      if (!c.value) th.textContent = c.label;
      else {
        const b = button(c.label, () => {
          sort = { column: c.key, descending: sort?.column === c.key ? !sort.descending : false };
          scheduleRender();
        }, `sort by ${c.label}`);
        b.className = 'sort';
        th.append(b);
        if (sort?.column === c.key) th.setAttribute('aria-sort', sort.descending ? 'descending' : 'ascending');
      }
      return th;
    }),
  );
  const differences = configDifferences(runs.map((r) => ({ ...dataOf(r).config, seed: dataOf(r).state.seed })));
  const diffOf = new Map(runs.map((r, i) => [r, differences[i]]));
  const byColumn = columns.find((c) => c.key === sort?.column);
  const ordered = byColumn?.value ? sortRows(runs, byColumn.value, sort!.descending) : runs;
  ui.runs.replaceChildren(
    ...ordered.map((r) => {
      const data = dataOf(r);
      const tr = document.createElement('tr');
      tr.dataset.run = String(r.id);
      tr.dataset.source = r.source;
      if (r === shown) tr.className = 'shown';
      const show = document.createElement('input');
      show.type = 'radio';
      show.name = 'shown-run';
      show.checked = r === shown;
      show.setAttribute('aria-label', `show ${r.name}`);
      show.addEventListener('change', () => {
        shown = r;
        scheduleRender();
      });
      const overlay = document.createElement('input');
      overlay.type = 'checkbox';
      overlay.checked = r.overlay;
      overlay.setAttribute('aria-label', `compare ${r.name} on the charts`);
      overlay.className = 'overlay';
      overlay.addEventListener('change', () => {
        r.overlay = overlay.checked;
        scheduleRender();
      });
      const name = document.createElement('span');
      name.textContent = r.name;
      const label = document.createElement('small');
      label.className = 'full-label';
      label.textContent = data.label;
      const actions = document.createElement('span');
      actions.className = 'actions';
      actions.append(
        button('JSON', () => download(exportName(data, r.id, 'json'), new Blob([runJson(data)], { type: 'application/json' })), 'everything the run holds, to load again'),
        button('CSV', () => download(exportName(data, r.id, 'csv'), new Blob([runCsv(data)], { type: 'text/csv' })), 'one row per step'),
        button('PNG', async () => {
          shown = r;
          render();
          download(exportName(data, r.id, 'png'), await charts.png());
        }, 'every chart of this run, as one PNG at 2×'),
      );
      if (r.source !== 'folder') {
        actions.append(
          button('Remove', () => {
            if (r.live) return;
            runs.splice(runs.indexOf(r), 1);
            void store?.delete(r.id);
            if (shown === r) shown = null;
            scheduleRender();
          }, 'remove the run from the page and from the browser’s storage'),
        );
      }
      const steps = stepsOf(r);
      tr.append(
        cell(show),
        cell(overlay),
        cell(swatch(r.color), name, label),
        cell(data.status),
        cell(steps === null ? '—' : String(steps)),
        ...headlineKeys.map((k) => cell(k in headlineOf(r) ? headlineText(headlineOf(r)[k]) : '—')),
        cell(diffOf.get(r)!.join(' ') || '—'),
        cell(actions),
      );
      return tr;
    }),
  );
}

ui.load.addEventListener('change', async () => {
  ui.loadError.textContent = '';
  try {
    const files = await Promise.all([...(ui.load.files ?? [])].map(async (f) => ({ name: f.name, text: await f.text() })));
    for (const data of readRunFiles(files)) {
      const kept = keep({ source: 'file', data, live: null, overlay: false });
      shown = kept;
      void persist(kept);
    }
  } catch (e) {
    ui.loadError.textContent = (e as Error).message;
  }
  ui.load.value = '';
  scheduleRender();
});

ui.smoothing.addEventListener('input', () => {
  ui.smoothingValue.textContent = smoothing() > 0 ? smoothing().toFixed(2) : 'off';
  scheduleRender();
});
addEventListener('resize', () => scheduleRender());
matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => scheduleRender());

// --- start ---------------------------------------------------------------------------------------------

ui.linkError.textContent = link.problems.length ? `This link was not taken as it is: ${link.problems.join('; ')}.` : '';
ui.linkError.hidden = link.problems.length === 0;
fillPresetPicker();
try {
  findPreset(state.preset);
} catch {
  state = readLabState('').state;
}
renderForm();
// On a phone the config starts folded, so the charts are not a long scroll below it.
if (matchMedia('(max-width: 820px)').matches) ($('config') as HTMLDetailsElement).open = false;
document.body.dataset.state = 'idle';
await restoreRuns();
scheduleRender();
void followFolder();
await ensureGpu();
document.body.dataset.gpu = gpu ? 'ready' : 'missing';
scheduleRender();

// For tests and the console: the page's runs and device.
declare global {
  interface Window {
    catapultLab: { runs: () => LabRunData[]; gpu: () => Gpu | null };
  }
}
window.catapultLab = { runs: () => runs.map(dataOf), gpu: () => gpu };
