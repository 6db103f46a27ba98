// Eigen-decompositions of small symmetric matrices in float64: the tridiagonal matrix of Lanczos (tens of
// rows, once per tracked step) by QL with implicit Wilkinson shifts, O(m²) per eigenvalue sweep; any dense
// one (in tests, whole reference kernels of hundreds of rows) by cyclic Jacobi rotations, which is simple and
// exact to rounding but O(m³) per sweep, too slow for the per-step tridiagonal.

export interface Eigen {
  /** Eigenvalues, largest first. */
  values: Float64Array;
  /** Eigenvectors as rows (vectors[i] belongs to values[i]), each of unit norm. */
  vectors: Float64Array[];
}

export function symmetricEigen(matrix: ArrayLike<number>, n: number, maxSweeps = 60): Eigen {
  const a = Float64Array.from(matrix as ArrayLike<number>);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const asym = Math.abs(a[i * n + j] - a[j * n + i]);
      if (asym > 1e-6 * (Math.abs(a[i * n + j]) + Math.abs(a[j * n + i]) + 1e-300)) {
        throw new RangeError(`symmetricEigen: the matrix is not symmetric at (${i}, ${j}): ${a[i * n + j]} vs ${a[j * n + i]}`);
      }
    }
  }
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    let total = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        total += a[i * n + j] ** 2;
        if (i !== j) off += a[i * n + j] ** 2;
      }
    }
    if (off <= 1e-30 * total || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => a[y * n + y] - a[x * n + x]);
  return {
    values: Float64Array.from(order, (i) => a[i * n + i]),
    vectors: order.map((i) => Float64Array.from({ length: n }, (_, k) => v[k * n + i])),
  };
}

/**
 * The eigenvalues and eigenvectors of the symmetric tridiagonal matrix with diagonal `diagonal` (m) and
 * off-diagonal `off` (m − 1; off[i] couples rows i and i + 1), by the QL algorithm with implicit shifts:
 * each sweep chases a Givens rotation from the bottom of the unreduced block up to row l, the shift being
 * the eigenvalue of the block's leading 2×2 closer to its corner, until off[l] is negligible against its
 * neighbours on the diagonal; the rotations are accumulated into the eigenvectors.
 */
export function tridiagonalEigen(diagonal: ArrayLike<number>, off: ArrayLike<number>, maxSweeps = 60): Eigen {
  const m = diagonal.length;
  if (off.length !== Math.max(m - 1, 0)) throw new RangeError(`tridiagonalEigen: ${m} diagonal entries need ${Math.max(m - 1, 0)} off-diagonal ones, got ${off.length}`);
  const d = Float64Array.from(diagonal);
  const e = new Float64Array(m); // e[m − 1] = 0 closes the last block
  e.set(off);
  // z[k·m + j]: component k of eigenvector j.
  const z = new Float64Array(m * m);
  for (let i = 0; i < m; i++) z[i * m + i] = 1;
  for (let l = 0; l < m; l++) {
    for (let sweep = 0; ; sweep++) {
      // The first negligible coupling at or below l ends the block [l, last].
      let last = l;
      while (last < m - 1 && Math.abs(e[last]) > Number.EPSILON * (Math.abs(d[last]) + Math.abs(d[last + 1]))) last++;
      if (last === l) break;
      if (sweep === maxSweeps) throw new RangeError(`tridiagonalEigen: eigenvalue ${l} did not converge in ${maxSweeps} sweeps`);
      const theta = (d[l + 1] - d[l]) / (2 * e[l]);
      const radius = Math.hypot(theta, 1);
      let g = d[last] - d[l] + e[l] / (theta + (theta >= 0 ? radius : -radius));
      let s = 1;
      let c = 1;
      let p = 0;
      let underflow = false;
      for (let i = last - 1; i >= l; i--) {
        const f = s * e[i];
        const b = c * e[i];
        const r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          // The rotation vanished: the block splits here; start the sweep again.
          d[i + 1] -= p;
          e[last] = 0;
          underflow = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1] - p;
        const t = (d[i] - g) * s + 2 * c * b;
        p = s * t;
        d[i + 1] = g + p;
        g = c * t - b;
        for (let k = 0; k < m; k++) {
          const zk1 = z[k * m + i + 1];
          const zk = z[k * m + i];
          z[k * m + i + 1] = s * zk + c * zk1;
          z[k * m + i] = c * zk - s * zk1;
        }
      }
      if (underflow) continue;
      d[l] -= p;
      e[l] = g;
      e[last] = 0;
    }
  }
  const order = Array.from({ length: m }, (_, i) => i).sort((x, y) => d[y] - d[x]);
  return {
    values: Float64Array.from(order, (i) => d[i]),
    vectors: order.map((i) => Float64Array.from({ length: m }, (_, k) => z[k * m + i])),
  };
}
