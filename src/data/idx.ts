// Readers for the IDX format of MNIST and Fashion-MNIST (images: magic 0x00000803, labels: 0x00000801,
// unsigned bytes, big-endian sizes), raw or gzip-compressed, and for the CIFAR-10 binary batches (records of
// one label byte and 3072 pixel bytes, channel-major). Host-neutral: bytes in, typed arrays out.

/** A data file that is not what its key says (a user's input, so a RangeError: exit 2 on the command line). */
export class DataFormatError extends RangeError {
  override name = 'DataFormatError';
}

const GZIP_MAGIC = [0x1f, 0x8b];

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1];
}

/** Gunzips when the bytes start with the gzip magic number; returns them unchanged otherwise. */
export async function maybeGunzip(bytes: Uint8Array, source: string): Promise<Uint8Array> {
  if (!isGzip(bytes)) return bytes;
  try {
    const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new DataFormatError(`${source}: gzip data is corrupt or truncated (${(e as Error).message})`);
  }
}

export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  /** count×rows×cols bytes. */
  pixels: Uint8Array;
}

const IDX_IMAGES = 0x00000803;
const IDX_LABELS = 0x00000801;

function header(bytes: Uint8Array, source: string, magic: number, dims: number): number[] {
  const need = 4 + 4 * dims;
  if (bytes.length < 4) throw new DataFormatError(`${source}: ${bytes.length} bytes is shorter than an IDX header (${need} bytes)`);
  // The magic number first: a label file passed for images is better named as such than as "too short".
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = view.getUint32(0);
  if (found !== magic) {
    const what = found === IDX_IMAGES ? 'an image file' : found === IDX_LABELS ? 'a label file' : 'not an IDX file of unsigned bytes';
    throw new DataFormatError(
      `${source}: magic number 0x${found.toString(16).padStart(8, '0')} (${what}), expected 0x${magic.toString(16).padStart(8, '0')} for ${magic === IDX_IMAGES ? 'images' : 'labels'}`,
    );
  }
  if (bytes.length < need) throw new DataFormatError(`${source}: ${bytes.length} bytes is shorter than an IDX header (${need} bytes)`);
  return Array.from({ length: dims }, (_, i) => view.getUint32(4 + 4 * i));
}

/** Parses an IDX image file (gzip or raw). */
export async function readIdxImages(data: Uint8Array, source = 'IDX images'): Promise<IdxImages> {
  const bytes = await maybeGunzip(data, source);
  const [count, rows, cols] = header(bytes, source, IDX_IMAGES, 3);
  if (rows === 0 || cols === 0) throw new DataFormatError(`${source}: images of ${rows}×${cols} pixels`);
  const expected = 16 + count * rows * cols;
  if (bytes.length !== expected) {
    throw new DataFormatError(
      `${source}: header says ${count} images of ${rows}×${cols} (${expected} bytes), file has ${bytes.length} bytes${bytes.length < expected ? ' (truncated)' : ''}`,
    );
  }
  return { count, rows, cols, pixels: bytes.slice(16) };
}

/** Parses an IDX label file (gzip or raw). */
export async function readIdxLabels(data: Uint8Array, source = 'IDX labels', classes = 10): Promise<Uint8Array> {
  const bytes = await maybeGunzip(data, source);
  const [count] = header(bytes, source, IDX_LABELS, 1);
  if (bytes.length !== 8 + count) {
    throw new DataFormatError(`${source}: header says ${count} labels, file has ${bytes.length - 8}${bytes.length < 8 + count ? ' (truncated)' : ''}`);
  }
  const labels = bytes.slice(8);
  const bad = labels.findIndex((l) => l >= classes);
  if (bad >= 0) throw new DataFormatError(`${source}: label ${labels[bad]} at index ${bad} is not a class in 0..${classes - 1}`);
  return labels;
}

/** Writes images or labels in the IDX format (uncompressed). */
export function writeIdx(kind: 'images' | 'labels', values: Uint8Array, dims: number[]): Uint8Array {
  const magic = kind === 'images' ? IDX_IMAGES : IDX_LABELS;
  const out = new Uint8Array(4 + 4 * dims.length + values.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, magic);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  out.set(values, 4 + 4 * dims.length);
  return out;
}

export const CIFAR_RECORD = 1 + 3 * 32 * 32;

export interface CifarBatch {
  count: number;
  labels: Uint8Array;
  /** count×3×32×32 bytes, channel-major (all red, then green, then blue) as in the files. */
  pixels: Uint8Array;
}

/** Parses one or more concatenated CIFAR-10 binary batches (data_batch_*.bin, test_batch.bin). */
export async function readCifar10(data: Uint8Array, source = 'CIFAR-10 batch'): Promise<CifarBatch> {
  const bytes = await maybeGunzip(data, source);
  if (bytes.length === 0 || bytes.length % CIFAR_RECORD !== 0) {
    throw new DataFormatError(
      `${source}: ${bytes.length} bytes is not a whole number of ${CIFAR_RECORD}-byte records (1 label + 3072 pixels)` +
        (bytes.length % CIFAR_RECORD ? `; the last record is cut after ${bytes.length % CIFAR_RECORD} bytes` : ''),
    );
  }
  const count = bytes.length / CIFAR_RECORD;
  const labels = new Uint8Array(count);
  const pixels = new Uint8Array(count * (CIFAR_RECORD - 1));
  for (let i = 0; i < count; i++) {
    const label = bytes[i * CIFAR_RECORD];
    if (label > 9) throw new DataFormatError(`${source}: record ${i} has label ${label}, CIFAR-10 labels are 0..9`);
    labels[i] = label;
    pixels.set(bytes.subarray(i * CIFAR_RECORD + 1, (i + 1) * CIFAR_RECORD), i * (CIFAR_RECORD - 1));
  }
  return { count, labels, pixels };
}
