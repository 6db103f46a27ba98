// What every benchmark returns (a table with its description and raw figures), and bench/RESULTS.md, which
// keeps one section per benchmark and adapter so figures from a CPU driver and from a GPU stand side by side
// and a rerun replaces only its own section.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { codeVersion } from '../src/cli/version.ts';
import { describeAdapter, type AdapterSummary } from '../src/gpu/gpu.ts';

export interface BenchTable {
  /** Section id in RESULTS.md ('gemm', 'train', ...), one per adapter. */
  id: string;
  /** Heading, without the adapter ("Matrix products"). */
  title: string;
  /** What was measured and how: the paragraph under the heading. */
  description: string;
  columns: string[];
  rows: (string | number)[][];
  /** A closing line (the headline figure), if any. */
  summary?: string;
}

const HEADER = `# Benchmark results

Written by \`npm run bench\` and its siblings (bench/cli.ts). Each section names the adapter it ran on:
figures from a CPU driver (lavapipe, SwiftShader) are not GPU figures. Rerunning a benchmark on the same
adapter replaces its section; other sections stay.
`;

export function adapterId(a: AdapterSummary): string {
  return [a.vendor, a.architecture, a.host].map((s) => s.replace(/[^a-zA-Z0-9_.-]+/g, '-') || 'unknown').join('-');
}

export function markdownTable(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** A table as markdown: heading with the adapter, the description (and how the adapter was chosen), the rows. */
export function tableMarkdown(t: BenchTable, adapter: AdapterSummary): string {
  const how = adapter.note ? ` Adapter chosen: ${adapter.note}.` : '';
  return [`## ${t.title} on ${describeAdapter(adapter)}`, '', `${t.description}${how}`, '', markdownTable(t.columns, t.rows), ...(t.summary ? ['', t.summary] : [])].join('\n');
}

/** Replaces (or appends) the section `id` of the results file with `body`. */
export function writeSection(path: string, id: string, body: string): void {
  const begin = `<!-- begin ${id} -->`;
  const end = `<!-- end ${id} -->`;
  const section = `${begin}\n${body.trim()}\n${end}`;
  let text = existsSync(path) ? readFileSync(path, 'utf8') : HEADER;
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  text = from >= 0 && to > from ? text.slice(0, from) + section + text.slice(to + end.length) : `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(path, text);
}

export function writeTable(path: string, t: BenchTable, adapter: AdapterSummary): void {
  writeSection(path, `${t.id}:${adapterId(adapter)}`, tableMarkdown(t, adapter));
}

/** "Measured <date>, code <version>, Node <version>." */
export function provenance(): string {
  return `Measured ${new Date().toISOString().slice(0, 10)}, code ${codeVersion()}, Node ${process.version}.`;
}
