// The lab's live charts: one uPlot chart per tracked quantity, with cursors synchronized across charts,
// log axes where values span decades, catapult markers on every chart, and a zoom that survives new data.
// Charts draw a thinned copy of long runs (downsample.ts); exports always use the full records.
import uPlot from 'uplot';
import type { EvalRecord, StepRecord } from '../run/train.ts';
import { drawIndices, pick } from './downsample.ts';
import type { LabRunData } from './lab-run.ts';
import { toleranceOf } from '../run/convergence.ts';

type Value = number | null | undefined;

interface SeriesDef {
  label: string | ((run: LabRunData) => string);
  step?: (r: StepRecord, run: LabRunData) => number | undefined;
  evaluation?: (e: EvalRecord) => number | undefined;
  dash?: number[];
  /** Drawn as hollow points, never joined: the values of a tracked eigenvalue that had not converged. */
  pointsOnly?: boolean;
}

interface ChartDef {
  id: string;
  title: string;
  yLabel: string;
  log: boolean;
  /** 'steps': x is the training step of each record; 'evals': the step of each evaluation. */
  source: 'steps' | 'evals';
  series: SeriesDef[];
  /** The series that overlaid runs contribute (index into series), if the chart overlays runs. */
  overlay?: number;
}

const top = (run: LabRunData) => run.config.tracking?.spectrum?.top;

/**
 * A tracked eigenvalue's series, and the same values where they had not converged (their residual above
 * the run's tolerance, src/run/convergence.ts): the line holds only converged values, the rest are points.
 */
function byConvergence(label: string, value: (r: StepRecord, run: LabRunData) => number | undefined, residual: keyof StepRecord, extra: Partial<SeriesDef> = {}): SeriesDef[] {
  const unconverged = (r: StepRecord, run: LabRunData) => typeof r[residual] === 'number' && !((r[residual] as number) <= toleranceOf(run.config));
  return [
    { label, step: (r, run) => (unconverged(r, run) ? undefined : value(r, run)), ...extra },
    { label: `${label} (not converged)`, step: (r, run) => (unconverged(r, run) ? value(r, run) : undefined), pointsOnly: true },
  ];
}

export const CHARTS: ChartDef[] = [
  {
    id: 'loss',
    title: 'Training loss, and its split into the top eigenspace of the tracked set’s NTK and the rest',
    yLabel: 'loss',
    log: true,
    source: 'steps',
    overlay: 0,
    series: [
      { label: 'batch loss', step: (r) => r.loss },
      { label: 'tracked-set loss', step: (r) => r.setLoss },
      { label: (run) => `L≤${top(run) ?? 1}`, step: (r) => r.lossTopS ?? r.lossTop },
      { label: (run) => `L>${top(run) ?? 1}`, step: (r) => r.lossRestS ?? r.lossRest },
    ],
  },
  {
    id: 'test',
    title: 'Evaluation loss (whole training set, validation, test)',
    yLabel: 'loss',
    log: true,
    source: 'evals',
    overlay: 2,
    series: [
      { label: 'train loss', evaluation: (e) => e.trainLoss },
      { label: 'validation loss', evaluation: (e) => e.valLoss },
      { label: 'test loss', evaluation: (e) => e.testLoss },
    ],
  },
  {
    id: 'accuracy',
    title: 'Evaluation accuracy',
    yLabel: 'accuracy',
    log: false,
    source: 'evals',
    overlay: 2,
    series: [
      { label: 'train', evaluation: (e) => e.trainAccuracy },
      { label: 'validation', evaluation: (e) => e.valAccuracy },
      { label: 'test', evaluation: (e) => e.testAccuracy },
    ],
  },
  {
    id: 'lambda',
    title: 'λ_max of the tracked set’s NTK',
    yLabel: 'eigenvalue',
    log: true,
    source: 'steps',
    overlay: 0,
    series: [
      ...byConvergence('λ_max', (r) => r.lambda, 'lambdaResidual'),
      ...byConvergence('λ_min', (r) => r.lambdaMin, 'lambdaMinResidual'),
    ],
  },
  {
    id: 'stability',
    title: 'η·λ_max/n against 1: above the line, the rate exceeds the tracked set’s critical rate',
    yLabel: 'η·λ_max/n',
    log: true,
    source: 'steps',
    overlay: 0,
    series: [
      { label: 'η·λ_max/n', step: (r, run) => (r.lambda !== undefined && run.trackedExamples ? (r.lr * r.lambda) / run.trackedExamples : undefined) },
      { label: '1', step: (r) => (r.lambda !== undefined ? 1 : undefined), dash: [6, 4] },
    ],
  },
  {
    id: 'eta',
    title: 'η against the critical rate of each step’s batch',
    yLabel: 'rate',
    log: true,
    source: 'steps',
    series: [
      { label: 'η', step: (r) => (r.etaCrit !== undefined || r.etaCritHessian !== undefined || r.etaCritPreconditioned !== undefined ? r.lr : undefined) },
      ...byConvergence('η_crit(batch) = b/λ_max(K_batch)', (r) => r.etaCrit, 'lambdaBatchResidual'),
      ...byConvergence('η_crit^P(batch) = b/λ_max(J·P·Jᵀ)', (r) => r.etaCritPreconditioned, 'lambdaPreconditionedResidual', { dash: [2, 3] }),
      ...byConvergence('2/λ_max(H)', (r) => r.etaCritHessian, 'lambdaHessianResidual', { dash: [6, 4] }),
    ],
  },
  {
    id: 'schedule',
    title: 'Learning-rate schedule',
    yLabel: 'η',
    log: false,
    source: 'steps',
    overlay: 0,
    series: [{ label: 'η', step: (r) => r.lr }],
  },
  {
    id: 'alignment',
    title: 'AGOP alignment cos(G, G*)',
    yLabel: 'cosine',
    log: false,
    source: 'steps',
    overlay: 0,
    series: [{ label: 'alignment', step: (r) => r.alignment }],
  },
  {
    id: 'adagrad',
    title: 'AdaGrad: the effective rate η/s_t against its critical bound s_t·n/λ_max, and s_t',
    yLabel: 'rate',
    log: true,
    source: 'steps',
    series: [
      { label: 'η/s_t', step: (r) => r.adagradRate },
      { label: 's_t·n/λ_max', step: (r) => r.adagradBound },
      { label: 's_t', step: (r) => r.adagradS, dash: [6, 4] },
    ],
  },
  {
    id: 'condition',
    title: 'Condition number of the tracked set’s NTK',
    yLabel: 'λ_max/λ_min',
    log: true,
    source: 'steps',
    series: [{ label: 'λ_max/λ_min', step: (r) => r.condition }],
  },
];

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/** Tick labels readable from 1e-6 to 1e6 (uPlot's default prints small log ticks as 0). */
function tick(v: number | null): string {
  if (v === null || v === undefined) return '';
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-2 || a >= 1e5) ? v.toExponential(0) : String(+v.toPrecision(3));
}

export interface Markers {
  /** Steps of the catapult spikes' peaks. */
  spikes: number[];
  /** The step a diverged or lost run ended at. */
  end?: { step: number; label: string };
}

/** One chart section: built when its quantity first has data, rebuilt when its series change. */
class ChartPanel {
  readonly section: HTMLElement;
  private plot: uPlot | null = null;
  private signature = '';
  private zoomed = false;
  points = 0;

  constructor(
    readonly def: ChartDef,
    parent: HTMLElement,
    private readonly markers: () => Markers,
  ) {
    this.section = document.createElement('section');
    this.section.className = 'chart';
    this.section.id = `chart-${def.id}`;
    this.section.hidden = true;
    const h = document.createElement('h3');
    h.textContent = def.title;
    this.section.append(h);
    parent.append(this.section);
  }

  update(primary: LabRunData | null, overlays: LabRunData[], width: number): void {
    const def = this.def;
    const runs = primary ? [primary, ...overlays.filter((r) => r !== primary)] : overlays;
    const labels: string[] = [];
    const columns: Value[][] = [];
    // x: the union of the runs' steps (runs in the lab all start at step 0).
    const xs = new Set<number>();
    for (const run of runs) for (const p of def.source === 'steps' ? run.records : run.evals) xs.add(p.step);
    const x = [...xs].sort((a, b) => a - b);
    const at = new Map(x.map((s, i) => [s, i]));
    const clean = (v: number | undefined): Value => (v === undefined ? undefined : !Number.isFinite(v) || (def.log && v <= 0) ? null : v);
    const column = (run: LabRunData, s: SeriesDef): Value[] => {
      const col: Value[] = new Array(x.length).fill(undefined);
      if (def.source === 'steps') for (const r of run.records) col[at.get(r.step)!] = clean(s.step!(r, run));
      else for (const e of run.evals) col[at.get(e.step)!] = clean(s.evaluation!(e));
      return col;
    };
    const present = (col: Value[]) => col.some((v) => typeof v === 'number');
    const dashes: (number[] | undefined)[] = [];
    const pointsOnly: boolean[] = [];
    if (primary) {
      for (const s of def.series) {
        const col = column(primary, s);
        if (!present(col)) continue;
        labels.push(typeof s.label === 'function' ? s.label(primary) : s.label);
        columns.push(col);
        dashes.push(s.dash);
        pointsOnly.push(Boolean(s.pointsOnly));
      }
    }
    if (def.overlay !== undefined) {
      const s = def.series[def.overlay];
      for (const run of runs.slice(primary ? 1 : 0)) {
        const col = column(run, s);
        if (!present(col)) continue;
        labels.push(`${typeof s.label === 'function' ? s.label(run) : s.label}: ${run.label}`);
        columns.push(col);
        dashes.push(undefined);
        pointsOnly.push(false);
      }
    }
    this.points = columns.reduce((n, c) => n + c.filter((v) => typeof v === 'number').length, 0);
    this.section.dataset.points = String(this.points);
    if (columns.length === 0) {
      this.section.hidden = true;
      return;
    }
    this.section.hidden = false;
    const keep = drawIndices(x.length, columns, Math.max(100, Math.floor(width / 2)));
    this.section.dataset.drawn = String(keep.length);
    const data = [pick(x, keep), ...columns.map((c) => pick(c, keep))] as uPlot.AlignedData;
    const signature = JSON.stringify([labels, width]);
    if (this.plot && signature === this.signature) {
      this.plot.setData(data, !this.zoomed);
      return;
    }
    this.plot?.destroy();
    this.signature = signature;
    this.zoomed = false;
    this.plot = new uPlot(
      {
        width,
        height: 240,
        scales: { x: { time: false }, y: def.log ? { distr: 3 } : {} },
        axes: [{ label: 'step' }, { label: def.yLabel, size: 64, values: (_u, vals) => vals.map(tick) }],
        series: [
          { label: 'step' },
          ...labels.map((label, i) =>
            pointsOnly[i]
              ? // In the colour of the line it belongs to, which byConvergence puts just before it.
                { label, stroke: COLORS[Math.max(0, i - 1) % COLORS.length], width: 0, paths: () => null, points: { show: true, size: 5, fill: '#fff' } }
              : { label, stroke: COLORS[i % COLORS.length], width: 1.5, dash: dashes[i], points: { show: false } },
          ),
        ],
        cursor: { sync: { key: 'catapult-lab' } },
        legend: { live: true },
        hooks: {
          // A drag selection zooms; double-click goes back to following the data.
          setSelect: [(u) => (this.zoomed = u.select.width > 0 || this.zoomed)],
          draw: [(u) => drawMarkers(u, this.markers())],
        },
      },
      data,
      this.section,
    );
    this.plot.over.addEventListener('dblclick', () => (this.zoomed = false));
  }

  get canvas(): HTMLCanvasElement | null {
    return this.plot ? this.plot.ctx.canvas : null;
  }

  destroy(): void {
    this.plot?.destroy();
    this.section.remove();
  }
}

function drawMarkers(u: uPlot, m: Markers): void {
  const ctx = u.ctx;
  const inside = (x: number) => x >= u.bbox.left && x <= u.bbox.left + u.bbox.width;
  ctx.save();
  ctx.lineWidth = 1;
  ctx.strokeStyle = 'rgba(214, 39, 40, 0.7)';
  ctx.setLineDash([4, 4]);
  let drawn = 0;
  for (const s of m.spikes) {
    const x = Math.round(u.valToPos(s, 'x', true));
    if (!inside(x)) continue;
    ctx.beginPath();
    ctx.moveTo(x, u.bbox.top);
    ctx.lineTo(x, u.bbox.top + u.bbox.height);
    ctx.stroke();
    drawn++;
  }
  if (m.end) {
    const x = Math.round(u.valToPos(m.end.step, 'x', true));
    if (inside(x)) {
      ctx.setLineDash([]);
      ctx.strokeStyle = '#000';
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
      ctx.fillStyle = '#000';
      ctx.font = `${12 * devicePixelRatio}px sans-serif`;
      ctx.textAlign = 'right';
      ctx.fillText(m.end.label, x - 4, u.bbox.top + 14 * devicePixelRatio);
    }
  }
  ctx.restore();
  (u.root.parentElement as HTMLElement).dataset.markers = String(drawn);
}

/** Every chart of the lab, updated together. */
export class LabCharts {
  private readonly panels: ChartPanel[];
  private markers: Markers = { spikes: [] };

  constructor(private readonly parent: HTMLElement) {
    this.panels = CHARTS.map((def) => new ChartPanel(def, parent, () => this.markers));
  }

  update(primary: LabRunData | null, overlays: LabRunData[], markers: Markers): void {
    this.markers = markers;
    const width = Math.max(360, Math.min(720, Math.floor(this.parent.clientWidth / (this.parent.clientWidth > 1100 ? 2 : 1)) - 24));
    for (const p of this.panels) p.update(primary, overlays, width);
  }

  /** The charts on show, drawn one under the other with their titles, as one PNG. */
  async png(): Promise<Blob> {
    const shown = this.panels.filter((p) => !p.section.hidden && p.canvas);
    const dpr = devicePixelRatio;
    const title = 24 * dpr;
    const width = Math.max(...shown.map((p) => p.canvas!.width), 1);
    const height = shown.reduce((h, p) => h + title + p.canvas!.height, 0) || 1;
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext('2d')!;
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, width, height);
    let y = 0;
    for (const p of shown) {
      ctx.fillStyle = '#000';
      ctx.font = `${14 * dpr}px sans-serif`;
      ctx.fillText(p.def.title, 8 * dpr, y + 17 * dpr);
      y += title;
      ctx.drawImage(p.canvas!, 0, y);
      y += p.canvas!.height;
    }
    return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the charts could not be drawn as PNG'))), 'image/png'));
  }
}
