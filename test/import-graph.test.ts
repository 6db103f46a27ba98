// The house's layers, written down once, bottom up: a module imports only from its own layer or one below,
// and no import cycle exists, type-only imports included. The graph is read by dependency-cruiser.
import { readdirSync } from 'node:fs';
import { cruise } from 'dependency-cruiser';
import { describe, expect, it } from 'vitest';

/** Each layer: what it holds. A path belongs to the first layer with a prefix of it. */
const LAYERS: { name: string; paths: string[] }[] = [
  { name: 'foundations: helpers, file formats, ambient types', paths: ['src/util/', 'src/io/', 'src/types/'] },
  { name: 'data sets on the host', paths: ['src/data/'] },
  { name: 'the config parts below tracking, and how a part is checked', paths: ['src/config/parts.ts', 'src/config/check.ts'] },
  { name: 'the device: buffers, steps, kernel descriptions', paths: ['src/gpu/'] },
  { name: 'the WGSL kernels', paths: ['shaders/'] },
  { name: 'choosing and composing kernels', paths: ['src/kernels/'] },
  { name: 'networks and their layers', paths: ['src/nn/'] },
  { name: 'optimizers and schedules', paths: ['src/optim/'] },
  { name: 'the NTK, spectra, Hessian, AGOP', paths: ['src/ntk/'] },
  { name: 'float64 references', paths: ['src/ref/'] },
  { name: 'tracked quantities: probes, their registry, the tracker', paths: ['src/track/'] },
  { name: 'the whole config schema', paths: ['src/config/'] },
  { name: 'runs: the training loop, presets, run files', paths: ['src/run/'] },
  { name: 'chart definitions and SVG', paths: ['src/charts/'] },
  { name: 'hosts: the command line and the lab', paths: ['src/cli/', 'src/app/'] },
];

const layerOf = (path: string): number => LAYERS.findIndex((l) => l.paths.some((p) => path.startsWith(p)));

async function importGraph(): Promise<{ source: string; imports: { path: string; typeOnly: boolean }[] }[]> {
  const files = ['src', 'shaders'].flatMap((dir) => readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => /\.tsx?$/.test(f)).map((f) => `${dir}/${f}`));
  const result = await cruise(files, { tsPreCompilationDeps: true, doNotFollow: { path: 'node_modules' } }, { extensions: ['.ts'] });
  if (typeof result.output === 'string') throw new Error(result.output);
  return result.output.modules
    .filter((m) => /^(src|shaders)\//.test(m.source))
    .map((m) => ({
      source: m.source,
      imports: m.dependencies.filter((d) => !d.coreModule && !d.couldNotResolve && !d.resolved.includes('node_modules')).map((d) => ({ path: d.resolved, typeOnly: d.dependencyTypes.includes('type-only') })),
    }));
}

describe('the import graph', async () => {
  const graph = await importGraph();

  it('places every module of src/ and shaders/ in a layer', () => {
    expect(graph.length).toBeGreaterThan(150);
    expect(graph.filter((m) => layerOf(m.source) < 0).map((m) => m.source)).toEqual([]);
  });

  it('has no import from a lower layer to a higher one', () => {
    const upward = graph.flatMap((m) => m.imports.filter((d) => layerOf(d.path) > layerOf(m.source)).map((d) => `${m.source} (${LAYERS[layerOf(m.source)].name}) imports ${d.path} (${LAYERS[layerOf(d.path)].name})`));
    expect(upward).toEqual([]);
  });

  it('has no import cycle, type-only imports included', () => {
    const edges = new Map(graph.map((m) => [m.source, m.imports.map((d) => d.path)]));
    // Depth-first search; a module met again on the current path closes a cycle.
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (node: string, path: string[]) => {
      state.set(node, 'open');
      for (const next of edges.get(node) ?? []) {
        if (state.get(next) === 'open') cycles.push([...path.slice(path.indexOf(next)), node, next].join(' → '));
        else if (!state.has(next)) visit(next, [...path, node]);
      }
      state.set(node, 'done');
    };
    for (const node of edges.keys()) if (!state.has(node)) visit(node, []);
    expect(cycles).toEqual([]);
  });
});
