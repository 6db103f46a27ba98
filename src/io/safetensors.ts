// The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian header length,
// a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}, then
// the tensors' bytes, little-endian, in header order. Readable by `safetensors.numpy.load_file` and
// `safetensors.torch.load_file`. Only the dtypes this lab writes: F32, F64, I64.
export type Dtype = 'F32' | 'F64' | 'I64';

export interface Tensor {
  dtype: Dtype;
  shape: number[];
  /** F32: Float32Array; F64: Float64Array; I64: BigInt64Array. */
  data: Float32Array | Float64Array | BigInt64Array;
}

const BYTES: Record<Dtype, number> = { F32: 4, F64: 8, I64: 8 };

export function encodeSafetensors(tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  const names = Object.keys(tensors);
  for (const name of names) {
    const t = tensors[name];
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== count) throw new RangeError(`tensor "${name}": shape [${t.shape}] holds ${count} values, data has ${t.data.length}`);
    const bytes = count * BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned (the format allows trailing spaces).
  while ((8 + new TextEncoder().encode(json).length) % 8 !== 0) json += ' ';
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const t = tensors[name];
    // Typed arrays are little-endian on every platform WebGPU runs on; copy their bytes as they are.
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    out.set(bytes, at);
    at += bytes.length;
  }
  return out;
}

/**
 * Reads a safetensors file, checking it against its own header before any value is used: the header is a
 * JSON object of tensors {dtype, shape, data_offsets} and string metadata; each tensor's byte range holds
 * exactly shape × dtype bytes; the ranges tile the data section from its start to the file's end with no gap
 * or overlap (the format's rule). Any violation is a RangeError naming the tensor and what was wrong.
 */
export function decodeSafetensors(file: Uint8Array): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  if (file.length < 8) throw new RangeError('not a safetensors file: shorter than its 8-byte header length');
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (8n + headerLength > BigInt(file.length)) throw new RangeError(`not a safetensors file: header length ${headerLength} passes the end (${file.length} bytes)`);
  const base = 8 + Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(file.subarray(8, base)));
  } catch {
    throw new RangeError('not a safetensors file: its header is not JSON');
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new RangeError('not a safetensors file: its header is not a JSON object');
  const dataLength = file.length - base;
  // No prototype: a tensor named "__proto__" or "constructor" is a name like any other.
  const tensors: Record<string, Tensor> = Object.create(null);
  const ranges: { name: string; begin: number; end: number }[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry) || Object.values(entry).some((v) => typeof v !== 'string')) {
        throw new RangeError('safetensors: __metadata__ must be an object of strings');
      }
      metadata = Object.assign(Object.create(null), entry) as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e === null || typeof e !== 'object') throw new RangeError(`tensor "${name}": its header entry is not an object`);
    const dtype = e.dtype as Dtype;
    if (typeof dtype !== 'string' || !Object.hasOwn(BYTES, dtype)) throw new RangeError(`tensor "${name}": dtype ${JSON.stringify(e.dtype)} is not one of ${Object.keys(BYTES).join(', ')}`);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new RangeError(`tensor "${name}": shape ${JSON.stringify(shape)} is not a list of sizes (integers >= 0)`);
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw new RangeError(`tensor "${name}": data_offsets ${JSON.stringify(offsets)} is not [begin, end] (integers >= 0)`);
    }
    const [begin, end] = offsets as [number, number];
    const count = shape.reduce((a: number, d: number) => a * d, 1);
    if (end < begin || end > dataLength) throw new RangeError(`tensor "${name}": data_offsets [${begin}, ${end}] are not a range inside the ${dataLength} data bytes (a truncated file?)`);
    if (end - begin !== count * BYTES[dtype]) throw new RangeError(`tensor "${name}": ${dtype} [${shape.join(', ')}] is ${count * BYTES[dtype]} bytes, data_offsets [${begin}, ${end}] give ${end - begin}`);
    ranges.push({ name, begin, end });
    const bytes = file.slice(base + begin, base + end);
    const data = dtype === 'F32' ? new Float32Array(bytes.buffer) : dtype === 'F64' ? new Float64Array(bytes.buffer) : new BigInt64Array(bytes.buffer);
    tensors[name] = { dtype, shape: shape as number[], data };
  }
  ranges.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const r of ranges) {
    if (r.begin !== at) throw new RangeError(`tensor "${r.name}": its data starts at byte ${r.begin}, the tensors before end at ${at} (${r.begin > at ? 'a gap' : 'an overlap'})`);
    at = r.end;
  }
  if (at !== dataLength) throw new RangeError(`safetensors: the tensors' data ends at byte ${at}, the file's at ${dataLength}`);
  return { tensors, metadata };
}

/** A .npy file (format 1.0), C order: '<f4' for Float32Array, '<i4' for Int32Array, '<f8' for Float64Array. */
export function encodeNpy(data: Float32Array | Int32Array | Float64Array, shape: number[]): Uint8Array {
  const descr = data instanceof Float32Array ? '<f4' : data instanceof Int32Array ? '<i4' : '<f8';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // magic (6) + version (2) + header length (2) + header, padded with spaces and a newline to 64 bytes.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const out = new Uint8Array(total + data.byteLength);
  out.set([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), total);
  return out;
}

/** The .npy dtypes read, and how one value is read from its little-endian (or single-byte) bytes. */
const NPY_DTYPES: Record<string, { bytes: number; read: (v: DataView, at: number) => number }> = {
  '<f4': { bytes: 4, read: (v, at) => v.getFloat32(at, true) },
  '<f8': { bytes: 8, read: (v, at) => v.getFloat64(at, true) },
  '<i4': { bytes: 4, read: (v, at) => v.getInt32(at, true) },
  '<i8': { bytes: 8, read: (v, at) => Number(v.getBigInt64(at, true)) },
  '<i2': { bytes: 2, read: (v, at) => v.getInt16(at, true) },
  '<u2': { bytes: 2, read: (v, at) => v.getUint16(at, true) },
  '|u1': { bytes: 1, read: (v, at) => v.getUint8(at) },
  '|i1': { bytes: 1, read: (v, at) => v.getInt8(at) },
  '|b1': { bytes: 1, read: (v, at) => v.getUint8(at) },
};

/**
 * A .npy file (NumPy's format 1.0, 2.0 or 3.0; C order) as float64 values and its shape. Everything else is a
 * RangeError naming `name`: not .npy, a header that is not the dict NumPy writes, Fortran order, a dtype
 * outside NPY_DTYPES (big-endian, complex, objects, strings), or data that does not hold shape × dtype.
 */
export function readNpy(file: Uint8Array, name = '.npy file'): { values: Float64Array; shape: number[]; dtype: string } {
  if (file.length < 10 || file[0] !== 0x93 || new TextDecoder().decode(file.subarray(1, 6)) !== 'NUMPY') throw new RangeError(`${name} is not a .npy file (no \\x93NUMPY magic)`);
  const major = file[6];
  if (major < 1 || major > 3) throw new RangeError(`${name}: .npy format version ${major}.${file[7]} is not 1, 2 or 3`);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  const length = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lengthBytes + length;
  if (start > file.length) throw new RangeError(`${name}: its header claims ${length} bytes, the file has ${file.length}`);
  const header = new TextDecoder().decode(file.subarray(8 + lengthBytes, start)).trim();
  const m = /^\{\s*'descr'\s*:\s*'([^']*)'\s*,\s*'fortran_order'\s*:\s*(True|False)\s*,\s*'shape'\s*:\s*\(([\d\s,]*)\)\s*,?\s*\}$/.exec(header);
  if (!m) throw new RangeError(`${name}: its header is not the dict NumPy writes ({'descr': ..., 'fortran_order': ..., 'shape': (...)}): ${JSON.stringify(header.slice(0, 120))}`);
  const [, descr, fortran, shapeText] = m;
  if (fortran === 'True') throw new RangeError(`${name} is in Fortran order; save it in C order (np.save(f, np.ascontiguousarray(a)))`);
  const dtype = descr === '<b1' ? '|b1' : descr;
  const r = NPY_DTYPES[dtype];
  if (!r) throw new RangeError(`${name} has dtype ${descr}; the dtypes read are ${Object.keys(NPY_DTYPES).join(', ')} (little-endian)`);
  const parts = shapeText.split(',').map((x) => x.trim());
  if (parts[parts.length - 1] === '') parts.pop();
  const shape = parts.map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new RangeError(`${name}: its shape (${shapeText}) is not a list of sizes`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (file.length - start !== count * r.bytes) throw new RangeError(`${name}: its shape (${shape.join(', ')}) of ${dtype} needs ${count * r.bytes} bytes of data, the file has ${file.length - start}`);
  const values = new Float64Array(count);
  for (let i = 0; i < count; i++) values[i] = r.read(view, start + i * r.bytes);
  return { values, shape, dtype };
}

/** A .npy file this lab wrote (float32, int32 or float64), as the typed array of its dtype. */
export function decodeNpy(file: Uint8Array): { data: Float32Array | Int32Array | Float64Array; shape: number[] } {
  const { values, shape, dtype } = readNpy(file);
  const data = dtype === '<f4' ? Float32Array.from(values) : dtype === '<i4' ? Int32Array.from(values) : dtype === '<f8' ? values : null;
  if (!data) throw new RangeError(`.npy dtype ${dtype} is not one of <f4, <i4, <f8`);
  return { data, shape };
}
