// The one contract every kernel family exports. A KernelDef is pure data: building one never touches WebGPU.

/** How a kernel sees binding i of group 0. */
export type BindingKind = 'read' | 'write' | 'uniform';

export interface KernelDef<Shape> {
  /** Human-readable name, used in labels and error messages. */
  readonly name: string;
  /** Cache key: compile-time facts only (tile sizes, transposes, activation), never runtime shapes. */
  readonly key: string;
  readonly source: string;
  readonly workgroupSize: readonly [number, number, number];
  /** Bindings of group 0, in order; at most one 'uniform', carrying the runtime shape. */
  readonly bindings: readonly BindingKind[];
  /** Number of workgroups in x, y, z for a runtime shape. */
  grid(shape: Shape): [number, number, number];
  /** The Params uniform for a runtime shape, as 32-bit words (floats go in through f32Bits). */
  uniforms(shape: Shape): Uint32Array;
}

/** WebGPU's guaranteed minimum for maxComputeWorkgroupsPerDimension; grids stay within it on every adapter. */
export const MAX_GRID_DIM = 65535;

export const ceilDiv = (a: number, b: number): number => Math.floor((a + b - 1) / b);

/**
 * A 1-D launch of `count` workgroups folded into x and y so that no dimension passes MAX_GRID_DIM.
 * Shaders recover the linear index as wid.x + wid.y * MAX_GRID_DIM (see FLAT_WORKGROUP_INDEX).
 */
export function flatGrid(count: number): [number, number, number] {
  const n = Math.max(1, count);
  return n <= MAX_GRID_DIM ? [n, 1, 1] : [MAX_GRID_DIM, ceilDiv(n, MAX_GRID_DIM), 1];
}

/** WGSL expression for the linear workgroup index of a flatGrid launch, given `wid` = workgroup_id. */
export const FLAT_WORKGROUP_INDEX = `(wid.x + wid.y * ${MAX_GRID_DIM}u)`;

const f32View = new Float32Array(1);
const u32View = new Uint32Array(f32View.buffer);
/** The bit pattern of a float32, for passing floats through a u32 uniform. */
export function f32Bits(x: number): number {
  f32View[0] = x;
  return u32View[0];
}

/** Builders return the same KernelDef object for the same key, so sources are built once per variant. */
export function memoByKey<Opts, Shape>(keyOf: (o: Opts) => string, build: (o: Opts, key: string) => KernelDef<Shape>): (o: Opts) => KernelDef<Shape> {
  const cache = new Map<string, KernelDef<Shape>>();
  return (o) => {
    const key = keyOf(o);
    let def = cache.get(key);
    if (!def) cache.set(key, (def = build(o, key)));
    return def;
  };
}
