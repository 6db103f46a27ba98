// The lab page: pick a preset, edit its config, run it on the browser's WebGPU adapter and watch the
// charts; runs stay in the page for overlaying and export. The URL holds preset, scale, variant, seed and
// overrides, so a shared link reproduces the run.
import 'uplot/dist/uPlot.min.css';
import './lab.css';
import { describeAdapter, type Gpu } from '../gpu/gpu.ts';
import { catapultSeries, headlineText } from '../run/summary.ts';
import { detectCatapults, type Spike } from '../run/catapults.ts';
import { findPreset, PRESETS, type Scale } from '../run/presets.ts';
import { requestBrowserGpu } from './browser-gpu.ts';
import { LabCharts, type Markers } from './charts.ts';
import { checkLabConfig, configFields, type ConfigField } from './config-fields.ts';
import { labStateQuery, readLabState, type LabState } from './lab-state.ts';
import { LabRun, type LabRunData } from './lab-run.ts';
import { exportName, readRunFiles, runCsv, runJson } from './run-files.ts';

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
  runMessage: $('run-message'),
  headline: $('headline'),
  charts: $('charts'),
  events: $<HTMLTableSectionElement>('events-body'),
  runs: $<HTMLTableSectionElement>('runs-body'),
  load: $<HTMLInputElement>('load'),
  loadError: $('load-error'),
};

interface KeptRun {
  id: number;
  data: LabRunData;
  live: LabRun | null;
  overlay: boolean;
}

const link = readLabState(location.search);
let state: LabState = link.state;
let gpu: Gpu | null = null;
let gpuError: string | null = null;
const runs: KeptRun[] = [];
let shown: KeptRun | null = null;
let active: LabRun | null = null;
let loadedIds = 100000;
const charts = new LabCharts(ui.charts);

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
  const run = new LabRun(structuredClone(state), check.config, describeAdapter(device.adapter), () => scheduleRender());
  if (paused) run.pause();
  const kept: KeptRun = { id: run.id, data: run, live: run, overlay: false };
  runs.push(kept);
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
  if (run.trainSize === undefined) return [];
  return detectCatapults(catapultSeries(run.config, run.records, run.evals, run.trainSize)).spikes;
}

function render(): void {
  const data = shown ? (shown.live ?? shown.data) : null;
  const spikes = data ? spikesOf(data) : [];
  const markers: Markers = { spikes: spikes.map((s) => s.peak) };
  if (data && (data.status === 'diverged' || data.status === 'lost') && data.records.length) {
    markers.end = { step: data.records[data.records.length - 1].step, label: data.status };
  }
  charts.update(data, runs.filter((r) => r.overlay && r !== shown).map((r) => r.live ?? r.data), markers);
  renderProgress(data);
  renderEvents(spikes);
  renderRuns();
  updateButtons();
  document.body.dataset.state = active ? active.status : data ? data.status : 'idle';
}

function renderProgress(data: LabRunData | null): void {
  if (!data) {
    ui.progress.textContent = '';
    ui.headline.textContent = '';
    return;
  }
  const steps = data.records.length ? data.records[data.records.length - 1].step + 1 : 0;
  let text = `${data.status} · step ${steps} / ${data.config.steps}`;
  if (shown?.live) {
    const { stepsPerSecond, secondsLeft } = shown.live.rate;
    if (stepsPerSecond > 0) text += ` · ${stepsPerSecond.toPrecision(3)} steps/s · ${Number.isFinite(secondsLeft) ? `${secondsLeft.toFixed(0)} s left` : ''}`;
  }
  ui.progress.textContent = text;
  ui.runMessage.textContent = data.message ?? '';
  ui.runMessage.className = data.status === 'diverged' || data.status === 'lost' || data.status === 'failed' ? 'error' : '';
  const h = data.summary?.headline;
  ui.headline.textContent = h
    ? Object.entries(h)
        .map(([k, v]) => `${k} ${headlineText(v)}`)
        .join(' · ')
    : '';
}

const fmt = (v: number | null | undefined) => (v === null || v === undefined ? '—' : Number.isFinite(v) ? v.toPrecision(4) : String(v));

function renderEvents(spikes: Spike[]): void {
  ui.events.replaceChildren(
    ...spikes.map((s) => {
      const tr = document.createElement('tr');
      for (const v of [String(s.peak), String(s.start), fmt(s.height), `×${fmt(s.ratio)}`, s.duration === null ? 'did not return' : String(s.duration), fmt(s.lambdaDrop)]) {
        const td = document.createElement('td');
        td.textContent = v;
        tr.append(td);
      }
      return tr;
    }),
  );
}

function button(text: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement('button');
  b.textContent = text;
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

function renderRuns(): void {
  ui.runs.replaceChildren(
    ...runs.map((r) => {
      const data = r.live ?? r.data;
      const tr = document.createElement('tr');
      tr.dataset.run = String(r.id);
      if (r === shown) tr.className = 'shown';
      const show = document.createElement('input');
      show.type = 'radio';
      show.name = 'shown-run';
      show.checked = r === shown;
      show.title = 'show this run';
      show.addEventListener('change', () => {
        shown = r;
        scheduleRender();
      });
      const overlay = document.createElement('input');
      overlay.type = 'checkbox';
      overlay.checked = r.overlay;
      overlay.title = 'overlay on the charts';
      overlay.className = 'overlay';
      overlay.addEventListener('change', () => {
        r.overlay = overlay.checked;
        scheduleRender();
      });
      const cells: (string | HTMLElement)[] = [show, overlay, data.label, data.status, String(data.records.length)];
      const actions = document.createElement('span');
      actions.className = 'actions';
      actions.append(
        button('JSON', () => download(exportName(data, r.id, 'json'), new Blob([runJson(data)], { type: 'application/json' }))),
        button('CSV', () => download(exportName(data, r.id, 'csv'), new Blob([runCsv(data)], { type: 'text/csv' }))),
        button('PNG', async () => {
          shown = r;
          render();
          download(exportName(data, r.id, 'png'), await charts.png());
        }),
        button('Remove', () => {
          if (r.live) return;
          runs.splice(runs.indexOf(r), 1);
          if (shown === r) shown = null;
          scheduleRender();
        }),
      );
      cells.push(actions);
      tr.append(
        ...cells.map((c) => {
          const td = document.createElement('td');
          td.append(c);
          return td;
        }),
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
      const kept: KeptRun = { id: loadedIds++, data, live: null, overlay: false };
      runs.push(kept);
      shown = kept;
    }
  } catch (e) {
    ui.loadError.textContent = (e as Error).message;
  }
  ui.load.value = '';
  scheduleRender();
});

addEventListener('resize', () => scheduleRender());

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
document.body.dataset.state = 'idle';
await ensureGpu();
document.body.dataset.gpu = gpu ? 'ready' : 'missing';
scheduleRender();

// For tests and the console: the page's runs and device.
declare global {
  interface Window {
    catapultLab: { runs: () => LabRunData[]; gpu: () => Gpu | null };
  }
}
window.catapultLab = { runs: () => runs.map((r) => r.live ?? r.data), gpu: () => gpu };
