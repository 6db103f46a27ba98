import { cruise } from 'dependency-cruiser';
import { readdirSync } from 'node:fs';
const files = ['src', 'shaders'].flatMap((d) => readdirSync(d, { recursive: true }).filter((f) => f.endsWith('.ts')).map((f) => `${d}/${f}`));
const r = await cruise(files, { tsPreCompilationDeps: true, doNotFollow: { path: 'node_modules' } }, { extensions: ['.ts', '.js'] });
const group = (p) => { const m = p.split('/'); return m[0] === 'shaders' ? 'shaders' : m.length > 2 ? `${m[0]}/${m[1]}` : p; };
const edges = new Map();
for (const m of r.output.modules) for (const d of m.dependencies) { if (d.coreModule || d.couldNotResolve || d.resolved.includes('node_modules')) continue; const a = group(m.source), b = group(d.resolved); if (a === b) continue; const k = `${a} -> ${b}`; if (!edges.has(k)) edges.set(k, []); edges.get(k).push(`${m.source}→${d.resolved}`); }
for (const [k, v] of [...edges].sort()) console.log(k, v.length, v.length < 3 ? v.join(' ') : '');
