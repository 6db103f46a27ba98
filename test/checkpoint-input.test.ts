// Checkpoints are input: a malformed or tampered one is refused with a message naming what was wrong, before
// anything is used (offsets against shapes, dtypes and the file's length, no gaps or overlaps, step and seed
// in range, finite values, the config validated as any config). The corpus is generated from one valid
// checkpoint of a small run by editing its header or bytes.
import { afterAll, describe, expect, it } from 'vitest';
import { readDataFile } from '../src/cli/data-files.ts';
import { decodeSafetensors } from '../src/io/safetensors.ts';
import { crc32 } from '../src/io/crc32.ts';
import { contentsChecksum, decodeCheckpoint, type DecodedCheckpoint } from '../src/run/checkpoint.ts';
import { Rng } from '../src/data/random.ts';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { Trainer, type TrainConfig } from '../src/run/train.ts';
import { releaseTestGpu, testGpu } from './gpu.ts';

afterAll(releaseTestGpu);

const CONFIG: TrainConfig = {
  data: { kind: 'synthetic', task: 'rank-2', d: 10, train: 16, test: 8, noise: 0.1 },
  model: { hidden: [8], hiddenBias: 0 },
  loss: 'mse',
  optimizer: { name: 'gd' },
  schedule: { kind: 'constant', lr: 0.1 },
  batchSize: 'full',
  steps: 10,
  seed: 3,
};

type Header = Record<string, any>;

/** The file's header and data section. */
function split(file: Uint8Array): { header: Header; data: Uint8Array } {
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n))), data: file.slice(8 + n) };
}

/** A file of this header and data section, exactly as given (no check of either). */
function join(header: Header | string, data: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** The header edited by f (a deep copy), over the same data. */
const edit = (file: Uint8Array, f: (h: Header) => void) => {
  const { header, data } = split(file);
  const h = structuredClone(header);
  f(h);
  return join(h, data);
};

/** The header edited by f with its checksum made to match again: what a careful hand edit would give. */
const editSigned = (file: Uint8Array, f: (h: Header) => void) => {
  const edited = edit(file, f);
  const { tensors, metadata } = decodeSafetensors(edited);
  return edit(edited, (h) => (h.__metadata__.checksum = contentsChecksum(tensors, metadata)));
};

/** An I64 scalar tensor's bytes set to v. */
function setInt(file: Uint8Array, name: string, v: bigint): Uint8Array {
  const { header, data } = split(file);
  const d = data.slice();
  new DataView(d.buffer).setBigInt64(header[name].data_offsets[0], v, true);
  return join(header, d);
}

describe('checkpoint input', () => {
  it('refuses every malformed checkpoint of the corpus, naming what was wrong', async () => {
    const gpu = await testGpu();
    const trainer = await Trainer.create(gpu, CONFIG, readDataFile);
    await trainer.trainStep(0);
    const valid = await trainer.checkpoint();
    trainer.destroy();
    const ok = decodeCheckpoint(valid);
    expect(ok.step).toBe(1);
    const weight = 'layers.0.weight';
    const { header } = split(valid);
    const wBytes = header[weight].data_offsets[1] - header[weight].data_offsets[0];
    const nanAt = (() => {
      const { data } = split(valid);
      const d = data.slice();
      new DataView(d.buffer).setFloat32(header[weight].data_offsets[0] + 4, NaN, true);
      return join(header, d);
    })();
    const cases: [string, Uint8Array, RegExp][] = [
      ['7 bytes', valid.slice(0, 7), /shorter than its 8-byte header length/],
      ['header length past the end', (() => { const f = valid.slice(); new DataView(f.buffer).setBigUint64(0, 1n << 40n, true); return f; })(), /header length 1099511627776 passes the end/],
      ['truncated by 100 bytes', valid.slice(0, valid.length - 100), /data_offsets \[\d+, \d+\] are not a range inside the \d+ data bytes \(a truncated file\?\)|the tensors' data ends at byte/],
      ['one byte more', (() => { const f = new Uint8Array(valid.length + 1); f.set(valid); return f; })(), /the tensors' data ends at byte \d+, the file's at \d+/],
      ['header not JSON', join('{"a": ', split(valid).data), /its header is not JSON/],
      ['header not UTF-8', join(new TextDecoder('latin1').decode(Uint8Array.of(0x7b, 0xff, 0x7d)), split(valid).data), /its header is not JSON/],
      ['header an array', join('[]', new Uint8Array(0)), /its header is not a JSON object/],
      ['shortened offsets', edit(valid, (h) => (h[weight].data_offsets[1] -= wBytes / 2)), new RegExp(`tensor "${weight}": F32 \\[8, 10\\] is 320 bytes, data_offsets \\[\\d+, \\d+\\] give 160`)],
      ['reversed offsets', edit(valid, (h) => h[weight].data_offsets.reverse()), new RegExp(`tensor "${weight}": data_offsets \\[\\d+, \\d+\\] are not a range`)],
      ['overlapping tensors', edit(valid, (h) => { const [b] = h[weight].data_offsets; h['layers.1.weight'].data_offsets = [b, b + 32]; }), /an overlap|a gap/],
      ['a gap', edit(valid, (h) => { h[weight].shape = [4, 10]; h[weight].data_offsets[1] -= wBytes / 2; }), /a gap/],
      ['unknown dtype', edit(valid, (h) => (h[weight].dtype = 'F16')), /dtype "F16" is not one of F32, F64, I64/],
      ['negative shape', edit(valid, (h) => (h[weight].shape = [-8, -10])), /shape \[-8,-10\] is not a list of sizes/],
      ['fractional offsets', edit(valid, (h) => (h[weight].data_offsets = [0.5, 320.5])), /data_offsets \[0.5,320.5\] is not \[begin, end\]/],
      ['metadata of numbers', edit(valid, (h) => (h.__metadata__.lr_scale = 1)), /__metadata__ must be an object of strings/],
      ['not a checkpoint', edit(valid, (h) => (h.__metadata__.format = 'other')), /not a catapult-lab checkpoint/],
      ['config not JSON', edit(valid, (h) => (h.__metadata__.config = '{')), /its metadata "config" is not JSON/],
      ['lr_scale not a number', edit(valid, (h) => (h.__metadata__.lr_scale = 'abc')), /lr_scale "abc" is not a finite number > 0/],
      ['step −5', setInt(valid, 'step', -5n), /checkpoint: step is -5; it must be from 0 to 10/],
      ['step 10¹²', setInt(valid, 'step', 10n ** 12n), /checkpoint: step is 1000000000000; it must be from 0 to 10/],
      ['seed 2³³', setInt(valid, 'seed', 2n ** 33n), /checkpoint: seed is 8589934592; it must be from 0 to 4294967295/],
      ['no step', edit(valid, (h) => { h.step.dtype = 'F64'; }), /tensor "step" \(I64 \[1\]\) is missing/],
      ['a NaN weight', nanAt, new RegExp(`tensor "${weight}" holds NaN or infinite values`)],
      ['a weight changed', (() => { const { data } = split(valid); const d = data.slice(); d[header[weight].data_offsets[0] + 5] ^= 1; return join(header, d); })(), /its contents do not match its checksum .*: the file was changed or damaged after it was written/],
      ['the config edited', edit(valid, (h) => (h.__metadata__.config = h.__metadata__.config.replace('"lr":0.1', '"lr":0.2'))), /its contents do not match its checksum/],
      ['a shape swapped', edit(valid, (h) => h[weight].shape.reverse()), /its contents do not match its checksum/],
      ['no checksum', edit(valid, (h) => delete h.__metadata__.checksum), /it has no checksum in its metadata/],
      ['a checksum of another file', edit(valid, (h) => (h.__metadata__.checksum = 'crc32:00000000')), /"crc32:00000000" recorded, crc32:[0-9a-f]{8} now/],
    ];
    expect(cases.length).toBeGreaterThanOrEqual(20);
    for (const [what, file, message] of cases) {
      let error: unknown = null;
      try {
        decodeCheckpoint(file);
      } catch (e) {
        error = e;
      }
      expect(error, `${what}: accepted`).toBeInstanceOf(RangeError);
      expect((error as Error).message, what).toMatch(message);
    }
  });

  it('a tensor named __proto__ is a name, not a prototype; a checkpoint whose config is invalid does not resume', async () => {
    const gpu = await testGpu();
    const trainer = await Trainer.create(gpu, CONFIG, readDataFile);
    const valid = await trainer.checkpoint();
    trainer.destroy();
    const { header, data } = split(valid);
    const withProto = join({ ...header, ['__proto__']: { dtype: 'F32', shape: [1], data_offsets: [data.length, data.length + 4] } }, Uint8Array.from([...data, 0, 0, 128, 63]));
    const decoded = decodeSafetensors(withProto);
    expect(Object.getPrototypeOf(decoded.tensors)).toBe(null);
    expect(Array.from(decoded.tensors['__proto__'].data as Float32Array)).toEqual([1]);
    const bad = editSigned(valid, (h) => (h.__metadata__.config = JSON.stringify({ ...CONFIG, steps: -1 })));
    await expect(Trainer.resume(gpu, bad, readDataFile)).rejects.toThrow(/checkpoint: its config is not valid: steps must be an integer >= 0, got -1/);
  });

  it('a checkpoint with bytes changed at random is refused with a clear error or reads back the same, never anything else (seeded)', async () => {
    const gpu = await testGpu();
    const trainer = await Trainer.create(gpu, CONFIG, readDataFile);
    await trainer.trainStep(0);
    const valid = await trainer.checkpoint();
    trainer.destroy();
    const same = (a: DecodedCheckpoint, b: DecodedCheckpoint) =>
      a.step === b.step && a.seed === b.seed && a.lrScale === b.lrScale && JSON.stringify(a.config) === JSON.stringify(b.config) && Object.keys(a.tensors).length === Object.keys(b.tensors).length &&
      Object.entries(a.tensors).every(([n, t]) => b.tensors[n] && t.dtype === b.tensors[n].dtype && t.shape.join() === b.tensors[n].shape.join() && crc32(new Uint8Array(t.data.buffer)) === crc32(new Uint8Array(b.tensors[n].data.buffer)));
    const original = decodeCheckpoint(valid);
    const rng = new Rng(20261201);
    const outcome = { refused: 0, same: 0 };
    for (let trial = 0; trial < 600; trial++) {
      const file = valid.slice();
      // One to three bytes, anywhere: the length field, the header, the padding or a tensor.
      const changes = 1 + rng.int(3);
      for (let c = 0; c < changes; c++) {
        const at = rng.int(file.length);
        file[at] = (file[at] + 1 + rng.int(255)) & 0xff;
      }
      let decoded: DecodedCheckpoint | null = null;
      try {
        decoded = decodeCheckpoint(file);
      } catch (e) {
        expect(e, `trial ${trial}: ${(e as Error).stack}`).toBeInstanceOf(RangeError);
        expect((e as Error).message, `trial ${trial}`).toMatch(/checkpoint|safetensors|tensor/);
        outcome.refused++;
        continue;
      }
      expect(same(decoded, original), `trial ${trial}: a changed file read back as a different checkpoint`).toBe(true);
      outcome.same++;
    }
    // Nearly every change is refused; the few that read back the same changed the header's layout only.
    expect(outcome.refused).toBeGreaterThan(500);
  });

  it('CRC-32 is the standard one (zip, PNG): its check value, and zlib over random bytes', () => {
    expect(crc32(new TextEncoder().encode('123456789')).toString(16)).toBe('cbf43926');
    const rng = new Rng(7);
    for (const n of [0, 1, 255, 4097]) {
      const bytes = Uint8Array.from({ length: n }, () => rng.int(256));
      expect(crc32(bytes.subarray(0, n >> 1), bytes.subarray(n >> 1)), `${n} bytes`).toBe(zlibCrc32(bytes));
    }
  });
});
