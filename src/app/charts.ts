// The lab's live charts: each Figure (src/charts/figure.ts, the same definitions the report draws) as a
// uPlot chart, with cursors synchronized across charts, catapult markers, a legend that shows each series'
// final value (its value under the cursor while hovering), a zoom that survives new data but not a change
// of runs, and SVG and PNG (2×) export from the same figure the report's files come from.
// Charts draw a thinned copy of long runs (downsample.ts); exports always use every record.
import uPlot from 'uplot';
import { CHARTS, figureOf, legendEntries, legendValue, MARKER_COLOR, type ChartRun, type Figure } from '../charts/figure.ts';
import { figureSvg } from '../charts/svg.ts';
import { drawIndices, pick } from './downsample.ts';

/** Tick labels readable from 1e-6 to 1e6 (uPlot's default prints small log ticks as 0). */
function tick(v: number | null): string {
  if (v === null || v === undefined) return '';
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-2 || a >= 1e5) ? v.toExponential(0) : String(+v.toPrecision(3));
}

const cssColor = (name: string, fallback: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;

/** A colour with an alpha, for the faint raw values under a smoothed line. */
const faint = (hex: string) => `${hex}4d`;

/** An SVG document as a decoded image, to draw on a canvas. */
async function svgImage(svg: string): Promise<HTMLImageElement> {
  const url = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    return img;
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** SVG figures one under the other at `scale` device pixels per CSS pixel, on white, as a PNG. */
export async function svgsToPng(svgs: string[], scale = 2): Promise<Blob> {
  const images = await Promise.all(svgs.map(svgImage));
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, ...images.map((i) => i.naturalWidth)) * scale;
  canvas.height = Math.max(1, images.reduce((h, i) => h + i.naturalHeight, 0)) * scale;
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  let y = 0;
  for (const img of images) {
    ctx.drawImage(img, 0, y, img.naturalWidth * scale, img.naturalHeight * scale);
    y += img.naturalHeight * scale;
  }
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the charts could not be drawn as PNG'))), 'image/png'));
}

/** One chart section: shown when its figure has data, its uPlot rebuilt when its series or size change. */
class ChartPanel {
  readonly section: HTMLElement;
  private readonly body: HTMLElement;
  private readonly legend: HTMLUListElement;
  private plot: uPlot | null = null;
  private signature = '';
  private zoomed = false;
  figure: Figure | null = null;

  constructor(
    readonly id: string,
    title: string,
    parent: HTMLElement,
    onExport: (panel: ChartPanel, kind: 'svg' | 'png') => void,
  ) {
    this.section = document.createElement('section');
    this.section.className = 'chart';
    this.section.id = `chart-${id}`;
    this.section.hidden = true;
    const head = document.createElement('div');
    head.className = 'chart-head';
    const h = document.createElement('h3');
    h.textContent = title;
    const buttons = document.createElement('span');
    buttons.className = 'chart-export';
    for (const kind of ['svg', 'png'] as const) {
      const b = document.createElement('button');
      b.textContent = kind.toUpperCase();
      b.className = `export-${kind}`;
      b.title = `this chart as ${kind === 'svg' ? 'SVG (vector)' : 'PNG at 2×'}, with its title, axes and legend`;
      b.addEventListener('click', () => onExport(this, kind));
      buttons.append(b);
    }
    head.append(h, buttons);
    this.body = document.createElement('div');
    this.legend = document.createElement('ul');
    this.legend.className = 'legend';
    this.section.append(head, this.body, this.legend);
    parent.append(this.section);
  }

  update(figure: Figure | null, width: number, runsKey: string, theme: string): void {
    this.figure = figure;
    const drawn = figure ? figure.series.filter((s) => !s.faint) : [];
    this.section.dataset.points = String(drawn.reduce((n, s) => n + s.values.filter((v) => typeof v === 'number').length, 0));
    this.section.dataset.series = String(drawn.length);
    this.section.dataset.faint = String(figure ? figure.series.length - drawn.length : 0);
    if (!figure) {
      this.section.hidden = true;
      return;
    }
    this.section.hidden = false;
    const columns = figure.series.map((s) => s.values);
    const keep = drawIndices(figure.x.length, columns, Math.max(100, Math.floor(width / 2)));
    this.section.dataset.drawn = String(keep.length);
    const data = [pick(figure.x, keep), ...columns.map((c) => pick(c, keep))] as uPlot.AlignedData;
    this.renderLegend(null);
    // A change of runs (or of what they draw) starts from the whole range again; new steps keep a zoom.
    const signature = JSON.stringify([figure.series.map((s) => [s.label, s.color, s.faint]), width, runsKey, theme]);
    if (this.plot && signature === this.signature) {
      this.plot.setData(data, !this.zoomed);
      return;
    }
    this.plot?.destroy();
    this.signature = signature;
    this.zoomed = false;
    const fg = cssColor('--fg', '#222');
    const grid = cssColor('--grid', '#e6e6e6');
    this.plot = new uPlot(
      {
        width,
        height: 230,
        scales: { x: { time: false }, y: figure.log ? { distr: 3 } : {} },
        axes: [
          { label: figure.xLabel, stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } },
          { label: figure.yLabel, size: 64, stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, values: (_u, vals) => vals.map(tick) },
        ],
        series: [
          { label: 'step' },
          ...figure.series.map((s) =>
            s.points
              ? { label: s.label, stroke: s.color, width: 0, paths: () => null, points: { show: true, size: 5, fill: s.hollow ? cssColor('--bg', '#fff') : s.color } }
              : { label: s.label, stroke: s.faint ? faint(s.color) : s.color, width: s.faint ? 1 : 1.5, dash: s.dash, points: { show: false } },
          ),
        ],
        cursor: { sync: { key: 'catapult-lab' } },
        legend: { show: false },
        hooks: {
          // A drag selection zooms; double-click goes back to following the data.
          setSelect: [(u) => (this.zoomed = u.select.width > 0 || this.zoomed)],
          draw: [(u) => this.drawMarkers(u)],
          setCursor: [(u) => this.renderLegend(u.cursor.idx ?? null)],
        },
      },
      data,
      this.body,
    );
    this.plot.over.addEventListener('dblclick', () => (this.zoomed = false));
  }

  /** The legend: each series' final value, or its value at the cursor's step while the cursor is on a chart. */
  private renderLegend(idx: number | null): void {
    const f = this.figure;
    if (!f) return;
    const at = idx !== null && this.plot ? (this.plot.data[0][idx] as number | undefined) : undefined;
    const column = at === undefined ? -1 : f.x.indexOf(at);
    const entries = legendEntries(f);
    const shownSeries = f.series.filter((s) => !s.faint);
    this.legend.replaceChildren(
      ...entries.map((e, i) => {
        const li = document.createElement('li');
        const swatch = document.createElement('span');
        swatch.className = `swatch ${e.kind}`;
        swatch.style.setProperty('--c', e.color);
        if (e.dash) swatch.classList.add('dashed');
        const name = document.createElement('span');
        name.textContent = e.label;
        const value = document.createElement('span');
        value.className = 'value';
        const s = i < shownSeries.length ? shownSeries[i] : null;
        value.textContent = s && column >= 0 ? `step ${at}: ${legendValue(typeof s.values[column] === 'number' ? (s.values[column] as number) : null)}` : e.value;
        li.append(swatch, name, ' ', value);
        return li;
      }),
    );
  }

  private drawMarkers(u: uPlot): void {
    const f = this.figure;
    if (!f) return;
    const ctx = u.ctx;
    const dpr = devicePixelRatio;
    const inside = (x: number) => x >= u.bbox.left && x <= u.bbox.left + u.bbox.width;
    ctx.save();
    let drawn = 0;
    for (const m of f.markers) {
      const x = Math.round(u.valToPos(m.step, 'x', true));
      if (!inside(x)) continue;
      ctx.lineWidth = dpr;
      ctx.strokeStyle = MARKER_COLOR;
      ctx.setLineDash([4 * dpr, 4 * dpr]);
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
      if (m.cap) {
        ctx.fillStyle = m.cap;
        ctx.fillRect(x - 3 * dpr, u.bbox.top, 6 * dpr, 6 * dpr);
      }
      drawn++;
    }
    for (const e of f.ends) {
      const x = Math.round(u.valToPos(e.step, 'x', true));
      if (!inside(x)) continue;
      ctx.setLineDash([]);
      ctx.strokeStyle = cssColor('--fg', '#222');
      ctx.lineWidth = 2 * dpr;
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
      ctx.fillStyle = cssColor('--fg', '#222');
      ctx.font = `${12 * dpr}px sans-serif`;
      ctx.textAlign = 'right';
      ctx.fillText(e.label, x - 4 * dpr, u.bbox.top + 14 * dpr);
    }
    ctx.restore();
    this.section.dataset.markers = String(drawn);
  }
}

/** Every chart of the lab, updated together from the runs on show. */
export class LabCharts {
  private readonly panels: ChartPanel[];

  constructor(
    private readonly parent: HTMLElement,
    private readonly save: (name: string, blob: Blob) => void,
  ) {
    this.panels = CHARTS.map((def) => new ChartPanel(def.id, def.title, parent, (panel, kind) => void this.exportPanel(panel, kind)));
  }

  /** Draws the runs (the first is the one shown; more are compared), with EMA smoothing weight `smoothing`. */
  update(runs: ChartRun[], smoothing: number): void {
    // As many columns of charts at least 420 px wide as the dashboard holds (one on a phone), each chart as wide as its column.
    const gap = 18;
    const total = this.parent.clientWidth;
    const columns = Math.max(1, Math.floor((total + gap) / (420 + gap)));
    this.parent.style.gridTemplateColumns = `repeat(${columns}, minmax(0, 1fr))`;
    this.parent.style.columnGap = `${gap}px`;
    const width = Math.max(240, Math.floor((total - gap * (columns - 1)) / columns) - 2);
    const runsKey = runs.map((r) => `${r.name}|${r.color}`).join(';');
    const theme = matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
    for (const [i, p] of this.panels.entries()) p.update(figureOf(CHARTS[i], runs, { smoothing }), width, runsKey, theme);
  }

  /** The figures on show, as drawn now. */
  get figures(): Figure[] {
    return this.panels.flatMap((p) => (p.figure && !p.section.hidden ? [p.figure] : []));
  }

  private async exportPanel(panel: ChartPanel, kind: 'svg' | 'png'): Promise<void> {
    if (!panel.figure) return;
    const svg = figureSvg(panel.figure);
    this.save(`chart-${panel.id}.${kind}`, kind === 'svg' ? new Blob([svg], { type: 'image/svg+xml' }) : await svgsToPng([svg]));
  }

  /** Every chart on show, one under the other, as one PNG at 2×. */
  png(): Promise<Blob> {
    return svgsToPng(this.figures.map((f) => figureSvg(f)));
  }
}
