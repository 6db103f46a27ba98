// A Figure as a standalone SVG document: the figure for a paper (title, axis labels with units, a legend
// with each series' final value, catapult markers in their own colour), the same in the lab's exports and
// the report's files. d3-scale gives the axes' ticks (log ticks by decade included) and d3-shape the lines'
// and bands' path data. Every text a run file can reach (run names, labels) is escaped: an SVG is markup.
import { scaleLinear, scaleLog } from 'd3-scale';
import { area, line } from 'd3-shape';
import { legendEntries, MARKER_COLOR, type Figure, type Value } from './figure.ts';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';
/** Rough width of a character at 12 px in a sans-serif font, for laying out the legend and wrapping the title. */
const CHAR = 6.6;

/** Words into lines of at most `chars` characters. */
function wrap(text: string, chars: number): string[] {
  const lines: string[] = [];
  let current = '';
  for (const word of text.split(' ')) {
    if (current && current.length + 1 + word.length > chars) {
      lines.push(current);
      current = word;
    } else current = current ? `${current} ${word}` : word;
  }
  if (current) lines.push(current);
  return lines;
}

const finite = (v: Value): v is number => typeof v === 'number' && Number.isFinite(v);

export interface SvgOptions {
  /** Width in CSS pixels (default 760); the height follows from the title's and the legend's lines. */
  width?: number;
}

export function figureSvg(f: Figure, options: SvgOptions = {}): string {
  const width = options.width ?? 760;
  const titleLines = wrap(f.title, Math.floor((width - 24) / 7.8)); // 13.5 px semibold: wider than the legend's text
  const margin = { left: 74, right: 18, top: 14 + titleLines.length * 17 + 8, bottom: 44 };
  const plotH = 250;
  // The legend: entries laid out left to right, wrapping.
  const entries = legendEntries(f);
  const placed: { x: number; y: number; e: (typeof entries)[number] }[] = [];
  let lx = margin.left;
  let ly = 0;
  for (const e of entries) {
    const w = 34 + (e.label.length + e.value.length + 2) * CHAR + 18;
    if (lx + w > width - margin.right && lx > margin.left) {
      lx = margin.left;
      ly += 18;
    }
    placed.push({ x: lx, y: ly, e });
    lx += w;
  }
  const legendTop = margin.top + plotH + margin.bottom;
  const height = legendTop + (entries.length ? ly + 18 + 10 : 0);

  // The y domain over every value drawn (bands included); a single value gets room around it.
  const all: number[] = [];
  for (const s of f.series) {
    for (const v of s.values) if (finite(v)) all.push(v);
    if (s.band) for (const v of [...s.band.lo, ...s.band.hi]) if (finite(v)) all.push(v);
  }
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  if (!(lo < hi)) [lo, hi] = f.log ? [lo / 2, hi * 2] : [lo - 1, hi + 1];
  const y = (f.log ? scaleLog().domain([lo, hi]) : scaleLinear().domain([lo, hi])).nice().range([margin.top + plotH, margin.top]);
  const x0 = f.x[0] ?? 0;
  const x1 = f.x[f.x.length - 1] ?? 1;
  const x = scaleLinear().domain(x0 < x1 ? [x0, x1] : [x0 - 1, x0 + 1]).range([margin.left, width - margin.right]);
  const px = (v: number) => x(v).toFixed(1);
  const py = (v: number) => y(v).toFixed(1);

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12" data-figure="${esc(f.id)}">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  titleLines.forEach((t, i) => out.push(`<text class="title" x="12" y="${16 + i * 17}" font-size="13.5" font-weight="600" fill="#222">${esc(t)}</text>`));

  // Axes: grid lines at the labelled ticks, tick labels, axis labels.
  const yFormat = f.log ? (y as ReturnType<typeof scaleLog>).tickFormat(6, '~g') : (y as ReturnType<typeof scaleLinear>).tickFormat(6, '~g');
  out.push('<g class="axis y">');
  for (const t of y.ticks(6)) {
    const label = yFormat(t);
    if (!label) continue;
    out.push(`<line x1="${margin.left}" x2="${width - margin.right}" y1="${py(t)}" y2="${py(t)}" stroke="#e6e6e6"/><text x="${margin.left - 6}" y="${py(t)}" dy="0.32em" text-anchor="end" fill="#444">${esc(label)}</text>`);
  }
  out.push(`<text transform="translate(16 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#222">${esc(f.yLabel)}</text></g>`);
  out.push('<g class="axis x">');
  for (const t of x.ticks(8).filter(Number.isInteger)) out.push(`<line x1="${px(t)}" x2="${px(t)}" y1="${margin.top + plotH}" y2="${margin.top + plotH + 5}" stroke="#888"/><text x="${px(t)}" y="${margin.top + plotH + 18}" text-anchor="middle" fill="#444">${t}</text>`);
  out.push(`<text x="${(margin.left + width - margin.right) / 2}" y="${margin.top + plotH + 36}" text-anchor="middle" fill="#222">${esc(f.xLabel)}</text></g>`);
  out.push(`<rect x="${margin.left}" y="${margin.top}" width="${width - margin.left - margin.right}" height="${plotH}" fill="none" stroke="#bbb"/>`);

  // Series, clipped to the plot: bands, then lines and points; undefined steps are skipped (the line runs
  // on), null steps break the line.
  out.push(`<clipPath id="plot-${esc(f.id)}"><rect x="${margin.left}" y="${margin.top}" width="${width - margin.left - margin.right}" height="${plotH}"/></clipPath>`);
  out.push(`<g clip-path="url(#plot-${esc(f.id)})">`);
  for (const s of f.series) {
    if (!s.band) continue;
    const pts = f.x.map((step, i) => [step, s.band!.lo[i], s.band!.hi[i]] as const).filter(([, a, b]) => a !== undefined && b !== undefined);
    const d = area<(typeof pts)[number]>()
      .defined(([, a, b]) => finite(a) && finite(b))
      .x(([step]) => x(step))
      .y0(([, a]) => y(a as number))
      .y1(([, , b]) => y(b as number))(pts);
    if (d) out.push(`<path class="band" d="${d}" fill="${s.color}" fill-opacity="0.15" stroke="none"/>`);
  }
  for (const s of f.series) {
    const pts = f.x.map((step, i) => [step, s.values[i]] as const).filter(([, v]) => v !== undefined);
    out.push(`<g class="series" data-label="${esc(s.label)}">`);
    if (s.points) {
      for (const [step, v] of pts) if (finite(v)) out.push(`<circle cx="${px(step)}" cy="${py(v)}" r="2.4" fill="${s.hollow ? '#ffffff' : s.color}" stroke="${s.color}" stroke-width="1"/>`);
    } else {
      const d = line<(typeof pts)[number]>()
        .defined(([, v]) => finite(v))
        .x(([step]) => x(step))
        .y(([, v]) => y(v as number))(pts);
      if (d) out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="${s.faint ? 1 : 1.6}"${s.faint ? ' stroke-opacity="0.3"' : ''}${s.dash ? ` stroke-dasharray="${s.dash.join(' ')}"` : ''} stroke-linejoin="round"/>`);
    }
    out.push('</g>');
  }
  out.push('</g>');

  // Catapult markers: dashed lines in their own colour (with the run's colour as a cap where runs are compared); a run's end, solid.
  out.push('<g class="markers">');
  const inside = (step: number) => x(step) >= margin.left - 0.5 && x(step) <= width - margin.right + 0.5;
  for (const m of f.markers) {
    if (!inside(m.step)) continue;
    out.push(`<line class="marker" x1="${px(m.step)}" x2="${px(m.step)}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="${MARKER_COLOR}" stroke-width="1" stroke-dasharray="4 4"/>`);
    if (m.cap) out.push(`<rect x="${(x(m.step) - 3).toFixed(1)}" y="${margin.top}" width="6" height="6" fill="${m.cap}"/>`);
  }
  for (const e of f.ends) {
    if (!inside(e.step)) continue;
    out.push(`<line x1="${px(e.step)}" x2="${px(e.step)}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#555555" stroke-width="2"/><text x="${(x(e.step) - 4).toFixed(1)}" y="${margin.top + 14}" text-anchor="end" fill="#333">${esc(e.label)}</text>`);
  }
  out.push('</g>');

  // The legend.
  out.push('<g class="legend">');
  for (const { x: ex, y: ey, e } of placed) {
    const cy = legendTop + ey + 9;
    if (e.kind === 'line' || e.kind === 'marker' || e.kind === 'end') {
      out.push(`<line x1="${ex}" x2="${ex + 26}" y1="${cy}" y2="${cy}" stroke="${e.color}" stroke-width="${e.kind === 'end' ? 2 : 1.8}"${e.dash ? ` stroke-dasharray="${e.dash.join(' ')}"` : ''}/>`);
    } else out.push(`<circle cx="${ex + 13}" cy="${cy}" r="3" fill="${e.kind === 'hollow' ? '#ffffff' : e.color}" stroke="${e.color}"/>`);
    out.push(`<text class="legend-entry" x="${ex + 32}" y="${cy}" dy="0.32em" fill="#222">${esc(e.label)} <tspan fill="#555">${esc(e.value)}</tspan></text>`);
  }
  out.push('</g></svg>');
  return out.join('\n');
}
