// Float64 CPU references for the kernels in shaders/: the ground truth of the tests and the benchmarks.
// Matrices are row-major; inputs may be float32 arrays, arithmetic and results are float64.

export type Mat = ArrayLike<number>;

/** C = op(A)·op(B) (M×N), A stored M×K (K×M if transA), B stored K×N (N×K if transB). */
export function matmulRef(A: Mat, B: Mat, M: number, N: number, K: number, transA = false, transB = false): Float64Array {
  const C = new Float64Array(M * N);
  // Copy op(B) to K×N float64 once so the inner loop runs over contiguous memory.
  const Bn = new Float64Array(K * N);
  for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) Bn[k * N + j] = transB ? B[j * K + k] : B[k * N + j];
  for (let i = 0; i < M; i++) {
    const row = i * N;
    for (let k = 0; k < K; k++) {
      const a = transA ? A[k * M + i] : A[i * K + k];
      if (a === 0) continue;
      const brow = k * N;
      for (let j = 0; j < N; j++) C[row + j] += a * Bn[brow + j];
    }
  }
  return C;
}

/** (|op(A)|·|op(B)|)[i, j] = Σ_k |A_ik||B_kj|: the scale of the rounding error bound of each C entry. */
export function absMatmulRef(A: Mat, B: Mat, M: number, N: number, K: number, transA = false, transB = false): Float64Array {
  const absA = Float64Array.from(A as ArrayLike<number>, Math.abs);
  const absB = Float64Array.from(B as ArrayLike<number>, Math.abs);
  return matmulRef(absA, absB, M, N, K, transA, transB);
}

export type ActivationRef = 'relu' | 'identity';

const activate = (z: number, act: ActivationRef) => (act === 'relu' ? Math.max(z, 0) : z);

/** Y[r, c] = act(X[r, c] + bias[c]). */
export function biasActRef(X: Mat, bias: Mat | null, rows: number, cols: number, act: ActivationRef): Float64Array {
  const Y = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) Y[r * cols + c] = activate(X[r * cols + c] + (bias ? bias[c] : 0), act);
  }
  return Y;
}

/** dX = dY ⊙ act'(z), with act' read from the output Y (relu' = 1[y > 0]). */
export function actBackwardRef(dY: Mat, Y: Mat, act: ActivationRef): Float64Array {
  const dX = new Float64Array(dY.length);
  for (let e = 0; e < dY.length; e++) dX[e] = act === 'relu' ? (Y[e] > 0 ? dY[e] : 0) : dY[e];
  return dX;
}

/** out[i, :] = src[index[i], :]; NaN rows for indices past srcRows (as the kernel does). */
export function gatherRef(src: Mat, srcRows: number, cols: number, index: ArrayLike<number>): Float64Array {
  const out = new Float64Array(index.length * cols);
  for (let i = 0; i < index.length; i++) {
    for (let c = 0; c < cols; c++) out[i * cols + c] = index[i] < srcRows ? src[index[i] * cols + c] : NaN;
  }
  return out;
}

/** out[i, j] = src[index[i], index[j]] of a srcRows×srcRows matrix; NaN where an index is past the end. */
export function gatherBlockRef(src: Mat, srcRows: number, index: ArrayLike<number>): Float64Array {
  const m = index.length;
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) out[i * m + j] = index[i] < srcRows && index[j] < srcRows ? src[index[i] * srcRows + index[j]] : NaN;
  }
  return out;
}

export function sumRef(x: Mat): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s;
}

export function dotRef(x: Mat, y: Mat): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
}

export function sumsqRef(x: Mat): number {
  return dotRef(x, x);
}

export function normRef(x: Mat): number {
  return Math.sqrt(sumsqRef(x));
}

export function sumAbsRef(x: Mat): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.abs(x[i]);
  return s;
}
