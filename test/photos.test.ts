// The bundled CIFAR-like photos: a fresh run of scripts/make-photos.py writes the same bytes (python3-skimage's
// photos, scripts/setup.sh installs it), each photo is public domain or CC0 with its source recorded, and the
// data kind "photos" reads them as two classes of 32×32×3 images.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDataFile } from '../src/cli/data-files.ts';
import { BUNDLED_PHOTOS } from '../src/data/photos.ts';
import { buildData, dataShape } from '../src/run/data.ts';

describe('the bundled photos', () => {
  it('equal a fresh run of scripts/make-photos.py, and say where each photo comes from', () => {
    const out = mkdtempSync(join(tmpdir(), 'photos-'));
    execFileSync('/usr/bin/python3', ['scripts/make-photos.py', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    expect(readFileSync(join(out, 'photos-cifar2.bin.gz')).equals(readFileSync(BUNDLED_PHOTOS))).toBe(true);
    const fresh = readFileSync(join(out, 'photos-cifar2.json'), 'utf8');
    expect(fresh).toBe(readFileSync('data/photos-cifar2.json', 'utf8'));
    const provenance = JSON.parse(fresh) as { records: number; photos: { name: string; label: number; licence: string; by: string; source: string; records: number }[] };
    expect(provenance.photos.map((p) => p.licence).every((l) => l === 'CC0' || l === 'public domain')).toBe(true);
    expect(provenance.photos.every((p) => p.by.length > 0 && p.source.length > 0)).toBe(true);
    expect(provenance.photos.reduce((s, p) => s + p.records, 0)).toBe(provenance.records);
    expect(new Set(provenance.photos.map((p) => p.label))).toEqual(new Set([7, 9]));
  }, 120_000);

  it('are the data kind "photos": two classes of 32×32×3 images in [0, 1], split by seed', async () => {
    const config = { kind: 'photos' as const, train: 128, test: 50, targets: 'pm1' as const };
    expect(dataShape(config)).toEqual({ shape: [3, 32, 32], k: 1 });
    const data = await buildData(config, 3, readDataFile);
    expect([data.train.n, data.test!.n, data.train.d, data.train.k]).toEqual([128, 50, 3072, 1]);
    const labels = Array.from(data.train.y);
    expect(new Set(labels)).toEqual(new Set([1, -1]));
    // Both classes are well represented in a draw of 128.
    expect(labels.filter((v) => v === 1).length).toBeGreaterThan(40);
    expect(data.train.x.reduce((m, v) => Math.min(m, v), Infinity)).toBeGreaterThanOrEqual(0);
    expect(data.train.x.reduce((m, v) => Math.max(m, v), -Infinity)).toBeLessThanOrEqual(1);
    expect(dataShape({ kind: 'photos', train: 1 })!.k).toBe(2);
    const small = await buildData({ kind: 'photos', train: 10, downsample: 2 }, 3, readDataFile);
    expect([small.train.d, small.train.k]).toEqual([768, 2]);
  });
});
