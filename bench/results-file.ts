// bench/RESULTS.md keeps one section per benchmark and adapter, so figures from a CPU adapter and from a GPU
// stand side by side and a rerun replaces only its own section.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { AdapterSummary } from '../src/gpu/gpu.ts';

const HEADER = `# Benchmark results

Written by \`npm run bench\` (bench/). Each section names the adapter it ran on: figures from a software
adapter (SwiftShader, on the CPU) are not GPU figures. Rerunning a benchmark on the same adapter replaces its
section; other sections stay.
`;

export function adapterId(a: AdapterSummary): string {
  return [a.vendor, a.architecture, a.host].map((s) => s.replace(/[^a-zA-Z0-9_.-]+/g, '-') || 'unknown').join('-');
}

export function writeSection(path: string, bench: string, adapter: AdapterSummary, body: string): void {
  const id = `${bench}:${adapterId(adapter)}`;
  const begin = `<!-- begin ${id} -->`;
  const end = `<!-- end ${id} -->`;
  const section = `${begin}\n${body.trim()}\n${end}`;
  let text = existsSync(path) ? readFileSync(path, 'utf8') : HEADER;
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  text = from >= 0 && to > from ? text.slice(0, from) + section + text.slice(to + end.length) : `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(path, text);
}

export function markdownTable(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** The commit the benchmark ran on, marked when the tree had uncommitted changes. */
export { codeVersion } from '../src/cli/version.ts';
