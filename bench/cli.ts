// The benchmarks' command line: `tsx bench/cli.ts NAME [--adapter A] [--out FILE] [--quick]`, as the npm
// scripts bench, bench:train, bench:ntk, bench:matrix-free, bench:cnn, bench:wrn-vit, bench:dispatch, bench:probes and
// bench:drivers run it. Each prints its rows as
// it measures them and writes its section of bench/RESULTS.md (or --out) for the adapter it ran on.
import { benchSetup } from './args.ts';
import { CNN_CASES, WRN_VIT_CASES, cnnTable, wrnVitTable } from './cnn.ts';
import { dispatchTable } from './dispatch.ts';
import { probesTable } from './probes.ts';
import { driversTable } from './drivers.ts';
import { choiceTable, gemmTable } from './gemm.ts';
import { matrixFreeTable } from './matrix-free.ts';
import { ntkTable } from './ntk.ts';
import { markdownTable, provenance, writeSection, writeTable, type BenchTable } from './results-file.ts';
import { trainTable } from './train.ts';

const NAMES = ['gemm', 'train', 'ntk', 'matrix-free', 'cnn', 'wrn-vit', 'dispatch', 'probes', 'drivers'] as const;
type Name = (typeof NAMES)[number];

const name = process.argv[2] as Name;
if (!NAMES.includes(name)) {
  console.error(`usage: tsx bench/cli.ts ${NAMES.join('|')} [--adapter auto|hardware|lavapipe|swiftshader] [--out FILE] [--quick]`);
  process.exit(2);
}
process.argv.splice(2, 1);

if (name === 'drivers') {
  // Both CPU drivers in one process: no --adapter here. --with-tests adds `npm test` on each.
  const withTests = process.argv.includes('--with-tests');
  const out = process.argv.includes('--out') ? process.argv[process.argv.indexOf('--out') + 1] : 'bench/RESULTS.md';
  const { table } = await driversTable({ rounds: 2, withTests });
  writeSection(out, 'drivers', [`## ${table.title}`, '', table.description, '', markdownTable(table.columns, table.rows)].join('\n'));
  console.log(`written to ${out}`);
} else {
  const own: Record<string, string> = name === 'matrix-free' ? { width: '256', iterations: '10' } : name === 'cnn' ? { sizes: 'quick,wide' } : name === 'wrn-vit' ? { sizes: 'wrn-quick,vit-quick' } : {};
  const { gpu, out, quick, extra } = await benchSetup(own);
  const tables: BenchTable[] = [];
  if (name === 'gemm') {
    tables.push(await gemmTable(gpu, { sizes: quick ? [64, 256, 512] : [64, 128, 256, 512, 1024, 2048], ntkK: quick ? 20_000 : 100_000 }));
    tables.push(await choiceTable(gpu, { rounds: 3 }));
  }
  if (name === 'train') tables.push(await trainTable(gpu));
  if (name === 'dispatch') tables.push(await dispatchTable(gpu));
  if (name === 'probes') tables.push(await probesTable(gpu));
  if (name === 'ntk') tables.push(await ntkTable(gpu));
  if (name === 'cnn' || name === 'wrn-vit') {
    const cases = name === 'cnn' ? CNN_CASES : WRN_VIT_CASES;
    const ids = extra.sizes!.split(',');
    const unknown = ids.filter((id) => !(id in cases));
    if (unknown.length) {
      console.error(`--sizes: unknown size ${unknown.join(', ')}; the sizes are ${Object.keys(cases).join(', ')}`);
      process.exit(2);
    }
    tables.push(await (name === 'cnn' ? cnnTable : wrnVitTable)(gpu, { cases: ids.map((id) => cases[id]) }));
  }
  if (name === 'matrix-free') tables.push(await matrixFreeTable(gpu, { width: Number(extra.width), iterations: Number(extra.iterations) }));
  for (const t of tables) {
    if (t.summary) console.log(t.summary);
    writeTable(out, quick ? { ...t, id: `${t.id}-quick` } : t, gpu.adapter);
  }
  console.log(`written to ${out} (${provenance()})`);
  gpu.destroy();
}
