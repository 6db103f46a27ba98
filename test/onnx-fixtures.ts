// Small ONNX models built here with onnx-proto's encoder (no exporter needed), for the importer's unit tests
// and the malformed-input corpus: a graph of named nodes over one input, with float initializers.
import proto from 'onnx-proto';
import { encodeNpy } from '../src/io/safetensors.ts';

const { onnx } = proto;

export interface FixtureNode {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  domain?: string;
  attributes?: Record<string, number | number[] | string>;
}

export interface Fixture {
  nodes: FixtureNode[];
  /** Initializers: name → [dims, values]. */
  weights?: Record<string, [number[], number[]]>;
  /** The graph input's dims (a string is a dynamic dimension); null: no shape. */
  input?: (number | string)[] | null;
  inputs?: string[];
  output?: string;
  opset?: number;
  /** An initializer to mark as kept in an external data file. */
  external?: string;
}

const attribute = (name: string, v: number | number[] | string) =>
  typeof v === 'string'
    ? { name, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(v) }
    : Array.isArray(v)
      ? { name, type: onnx.AttributeProto.AttributeType.INTS, ints: v }
      : Number.isInteger(v) && !name.match(/alpha|beta|epsilon/)
        ? { name, type: onnx.AttributeProto.AttributeType.INT, i: v }
        : { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v };

const valueInfo = (name: string, dims: (number | string)[] | null) => ({
  name,
  type: { tensorType: { elemType: 1, ...(dims ? { shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } : {}) } },
});

export function onnxBytes(f: Fixture): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'catapult-lab tests',
    opsetImport: [{ domain: '', version: f.opset ?? 17 }],
    graph: {
      name: 'fixture',
      node: f.nodes.map((n, i) => ({ name: n.name ?? `n${i}`, opType: n.op, domain: n.domain ?? '', input: n.inputs, output: n.outputs, attribute: Object.entries(n.attributes ?? {}).map(([k, v]) => attribute(k, v)) })),
      initializer: Object.entries(f.weights ?? {}).map(([name, [dims, values]]) =>
        name === f.external ? { name, dims, dataType: 1, dataLocation: 1, externalData: [{ key: 'location', value: 'weights.bin' }] } : { name, dims, dataType: 1, floatData: values },
      ),
      input: (f.inputs ?? ['x']).map((name) => valueInfo(name, f.input === undefined ? ['N', 3] : f.input)),
      output: [valueInfo(f.output ?? 'y', null)],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

const seq = (n: number, scale = 0.1) => Array.from({ length: n }, (_, i) => scale * Math.sin(i + 1));

/** x [N, 3] → Gemm(4) → Relu → Gemm(2): the corpus's valid base. */
export const MLP: Fixture = {
  nodes: [
    { op: 'Gemm', inputs: ['x', 'fc1.weight', 'fc1.bias'], outputs: ['h'], attributes: { transB: 1 } },
    { op: 'Relu', inputs: ['h'], outputs: ['r'] },
    { op: 'Gemm', inputs: ['r', 'fc2.weight', 'fc2.bias'], outputs: ['y'], attributes: { transB: 1 } },
  ],
  weights: { 'fc1.weight': [[4, 3], seq(12)], 'fc1.bias': [[4], seq(4)], 'fc2.weight': [[2, 4], seq(8)], 'fc2.bias': [[2], seq(2)] },
};

export const npyBytes = (values: number[], shape: number[]) => encodeNpy(Float32Array.from(values), shape);

/** A .npy file with a header of one's own (for malformed cases). */
export function rawNpy(header: string, data: Uint8Array, version = 1): Uint8Array {
  const text = new TextEncoder().encode(header);
  const out = new Uint8Array(10 + text.length + data.length);
  out.set([0x93, ...new TextEncoder().encode('NUMPY'), version, 0], 0);
  new DataView(out.buffer).setUint16(8, text.length, true);
  out.set(text, 10);
  out.set(data, 10 + text.length);
  return out;
}
