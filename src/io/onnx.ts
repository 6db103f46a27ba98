// ONNX model files (https://onnx.ai/onnx/repo-docs/IR.html), decoded by onnx-proto (the ONNX schema compiled
// for protobufjs), into plain data the importer (src/nn/onnx-import.ts) reads: the nodes in the file's order
// (the IR requires a topological one), the initializers as float64 values, the graph's inputs and outputs
// with their shapes. Everything a file could get wrong is a RangeError naming the file and the tensor or
// node: a truncated or non-ONNX file, tensors kept in external data files, a tensor whose data does not
// match its shape, a data type this lab does not read.
import proto from 'onnx-proto';

const { onnx } = proto;

export interface OnnxTensor {
  name: string;
  dims: number[];
  /** ONNX's data type name (FLOAT, DOUBLE, INT64, INT32, ...). */
  dtype: string;
  /** The values, exactly for every supported type but 64-bit integers beyond 2⁵³ (never a shape or axis). */
  values: Float64Array;
}

export type OnnxAttribute =
  | { kind: 'float'; value: number }
  | { kind: 'int'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'floats'; value: number[] }
  | { kind: 'ints'; value: number[] }
  | { kind: 'tensor'; value: OnnxTensor }
  | { kind: 'other'; type: string };

export interface OnnxNode {
  /** The node's name, or "OpType #i" where the file gives none. */
  name: string;
  opType: string;
  domain: string;
  /** Input names; '' marks an optional input left out. */
  inputs: string[];
  outputs: string[];
  attributes: Map<string, OnnxAttribute>;
}

export interface OnnxValueInfo {
  name: string;
  dtype: string;
  /** Each dimension's size, its symbolic name (a dynamic dimension), or null where the file says nothing. */
  dims: (number | string | null)[] | null;
}

export interface OnnxModel {
  file: string;
  irVersion: number;
  /** The ai.onnx operator set the model was exported for. */
  opset: number;
  producer: string;
  nodes: OnnxNode[];
  initializers: Map<string, OnnxTensor>;
  /** The graph's inputs that are not initializers (older exporters list the weights as inputs too). */
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

const DATA_TYPES: Record<number, string> = { 1: 'FLOAT', 2: 'UINT8', 3: 'INT8', 4: 'UINT16', 5: 'INT16', 6: 'INT32', 7: 'INT64', 8: 'STRING', 9: 'BOOL', 10: 'FLOAT16', 11: 'DOUBLE', 12: 'UINT32', 13: 'UINT64', 14: 'COMPLEX64', 15: 'COMPLEX128', 16: 'BFLOAT16' };
const ATTRIBUTE_TYPES: Record<number, string> = { 1: 'FLOAT', 2: 'INT', 3: 'STRING', 4: 'TENSOR', 5: 'GRAPH', 6: 'FLOATS', 7: 'INTS', 8: 'STRINGS', 9: 'TENSORS', 10: 'GRAPHS', 11: 'SPARSE_TENSOR', 12: 'SPARSE_TENSORS', 13: 'TYPE_PROTO', 14: 'TYPE_PROTOS' };
/** Bytes per value of the types read from raw_data. */
const RAW: Record<string, { bytes: number; read: (v: DataView, at: number) => number }> = {
  FLOAT: { bytes: 4, read: (v, at) => v.getFloat32(at, true) },
  DOUBLE: { bytes: 8, read: (v, at) => v.getFloat64(at, true) },
  INT64: { bytes: 8, read: (v, at) => Number(v.getBigInt64(at, true)) },
  INT32: { bytes: 4, read: (v, at) => v.getInt32(at, true) },
  INT8: { bytes: 1, read: (v, at) => v.getInt8(at) },
  UINT8: { bytes: 1, read: (v, at) => v.getUint8(at) },
  BOOL: { bytes: 1, read: (v, at) => v.getUint8(at) },
};

/** protobufjs gives 64-bit integers as Long objects (or numbers where they fit). */
type LongLike = number | { toNumber(): number };
const num = (v: LongLike | null | undefined): number => (v === null || v === undefined ? 0 : typeof v === 'number' ? v : v.toNumber());

function tensor(t: proto.onnx.ITensorProto, file: string, what: string): OnnxTensor {
  const name = t.name ?? '';
  const where = `${file}: ${what} "${name}"`;
  if (num(t.dataLocation as LongLike) === 1 || (t.externalData?.length ?? 0) > 0) {
    throw new RangeError(`${where} keeps its data in an external file (${t.externalData?.find((e) => e.key === 'location')?.value ?? 'unnamed'}); export the model with its weights inside the .onnx file (torch.onnx.export does unless the model passes 2 GB)`);
  }
  const dims = (t.dims ?? []).map((d) => num(d as LongLike));
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new RangeError(`${where} has dimensions [${dims}]: each must be a whole number >= 0`);
  const count = dims.reduce((a, b) => a * b, 1);
  const dtype = DATA_TYPES[num(t.dataType as LongLike)] ?? `type ${num(t.dataType as LongLike)}`;
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  let values: Float64Array;
  if (raw) {
    const r = RAW[dtype];
    if (!r) throw new RangeError(`${where} is of data type ${dtype}; the types read are ${Object.keys(RAW).join(', ')}`);
    if (raw.length !== count * r.bytes) throw new RangeError(`${where}: its shape [${dims}] needs ${count * r.bytes} bytes of ${dtype}, its data has ${raw.length}`);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    values = Float64Array.from({ length: count }, (_, i) => r.read(view, i * r.bytes));
  } else {
    const typed: Record<string, ArrayLike<LongLike> | null | undefined> = { FLOAT: t.floatData, DOUBLE: t.doubleData, INT64: t.int64Data as LongLike[], INT32: t.int32Data, INT8: t.int32Data, UINT8: t.int32Data, BOOL: t.int32Data };
    if (!(dtype in typed)) throw new RangeError(`${where} is of data type ${dtype}; the types read are ${Object.keys(typed).join(', ')}`);
    const list = typed[dtype] ?? [];
    if (list.length !== count) throw new RangeError(`${where}: its shape [${dims}] holds ${count} values, its data has ${list.length}`);
    values = Float64Array.from({ length: count }, (_, i) => num(list[i]));
  }
  return { name, dims, dtype, values };
}

function attribute(a: proto.onnx.IAttributeProto, file: string, node: string): OnnxAttribute {
  const type = ATTRIBUTE_TYPES[num(a.type as LongLike)] ?? `type ${num(a.type as LongLike)}`;
  switch (type) {
    case 'FLOAT':
      return { kind: 'float', value: a.f ?? 0 };
    case 'INT':
      return { kind: 'int', value: num(a.i as LongLike) };
    case 'STRING':
      return { kind: 'string', value: new TextDecoder().decode(a.s ?? new Uint8Array()) };
    case 'FLOATS':
      return { kind: 'floats', value: [...(a.floats ?? [])] };
    case 'INTS':
      return { kind: 'ints', value: (a.ints ?? []).map((v) => num(v as LongLike)) };
    case 'TENSOR':
      return { kind: 'tensor', value: tensor(a.t ?? {}, file, `attribute ${a.name} of node "${node}"`) };
    default:
      return { kind: 'other', type };
  }
}

function valueInfo(v: proto.onnx.IValueInfoProto): OnnxValueInfo {
  const t = v.type?.tensorType;
  const dims = t?.shape ? (t.shape.dim ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue !== null && d.dimValue !== undefined ? num(d.dimValue as LongLike) : null)) : null;
  return { name: v.name ?? '', dtype: t ? (DATA_TYPES[num(t.elemType as LongLike)] ?? `type ${num(t.elemType as LongLike)}`) : 'not a tensor', dims };
}

/** Decodes an ONNX file; `file` names it in errors. */
export function decodeOnnx(bytes: Uint8Array, file: string): OnnxModel {
  let m: proto.onnx.ModelProto;
  try {
    m = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new RangeError(`${file} is not an ONNX model: its protobuf does not decode (${(e as Error).message}; a truncated or damaged file, or another format)`);
  }
  const irVersion = num(m.irVersion as LongLike);
  const g = m.graph;
  if (!(irVersion >= 3) || !g || (g.node ?? []).length === 0) {
    throw new RangeError(`${file} is not an ONNX model: ${!(irVersion >= 3) ? `its IR version is ${irVersion} (ONNX files have 3 or more)` : !g ? 'it has no graph' : 'its graph has no nodes'}`);
  }
  const opset = (m.opsetImport ?? []).find((o) => (o.domain ?? '') === '' || o.domain === 'ai.onnx');
  if (!opset) throw new RangeError(`${file} imports no ai.onnx operator set`);
  if ((g.sparseInitializer ?? []).length > 0) throw new RangeError(`${file}: sparse initializers ("${g.sparseInitializer![0].values?.name ?? 'unnamed'}") are not read; export dense weights`);
  const initializers = new Map<string, OnnxTensor>();
  for (const t of g.initializer ?? []) {
    const value = tensor(t, file, 'initializer');
    if (initializers.has(value.name)) throw new RangeError(`${file}: two initializers are named "${value.name}"`);
    initializers.set(value.name, value);
  }
  const nodes = (g.node ?? []).map((n, i): OnnxNode => {
    const name = n.name || `${n.opType} #${i}`;
    return {
      name,
      opType: n.opType ?? '',
      domain: n.domain ?? '',
      inputs: [...(n.input ?? [])],
      outputs: [...(n.output ?? [])],
      attributes: new Map((n.attribute ?? []).map((a) => [a.name ?? '', attribute(a, file, name)])),
    };
  });
  return {
    file,
    irVersion,
    opset: num(opset.version as LongLike),
    producer: [m.producerName, m.producerVersion].filter(Boolean).join(' '),
    nodes,
    initializers,
    inputs: (g.input ?? []).filter((v) => !initializers.has(v.name ?? '')).map(valueInfo),
    outputs: (g.output ?? []).map(valueInfo),
  };
}

/** A tensor file (TensorProto, as ONNX's test data keeps inputs and expected outputs); `file` names it in errors. */
export function decodeOnnxTensor(bytes: Uint8Array, file: string): OnnxTensor {
  let t: proto.onnx.TensorProto;
  try {
    t = onnx.TensorProto.decode(bytes);
  } catch (e) {
    throw new RangeError(`${file} is not an ONNX tensor (${(e as Error).message})`);
  }
  return tensor(t, file, 'tensor');
}
