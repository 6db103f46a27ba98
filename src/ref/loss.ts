// Float64 references of the loss heads (src/nn/loss.ts).

/** L = (1/b)‖f − y‖² over the b×k outputs. */
export function mseRef(f: ArrayLike<number>, y: ArrayLike<number>, b: number): number {
  let s = 0;
  for (let i = 0; i < f.length; i++) s += (f[i] - y[i]) ** 2;
  return s / b;
}

/** Mean softmax cross-entropy, accuracy (first maximum on ties) and ∂L/∂f, in float64. */
export function softmaxCrossEntropyRef(f: ArrayLike<number>, y: ArrayLike<number>, b: number, k: number) {
  let loss = 0;
  let correct = 0;
  const seed = new Float64Array(b * k);
  for (let r = 0; r < b; r++) {
    const row = Array.from({ length: k }, (_, j) => f[r * k + j]);
    const target = Array.from({ length: k }, (_, j) => y[r * k + j]);
    const max = Math.max(...row);
    const total = row.reduce((s, v) => s + Math.exp(v - max), 0);
    loss += max + Math.log(total) - row.reduce((s, v, j) => s + v * target[j], 0);
    if (row.indexOf(max) === target.indexOf(Math.max(...target))) correct++;
    for (let j = 0; j < k; j++) seed[r * k + j] = (Math.exp(row[j] - max) / total - target[j]) / b;
  }
  return { loss: loss / b, accuracy: correct / b, seed };
}

/** Accuracy of outputs on class targets: ±1 targets (k = 1) by sign (0 counts as −1), one-hot by argmax (first maximum). */
export function classifyRef(f: ArrayLike<number>, y: ArrayLike<number>, b: number, k: number): number {
  let correct = 0;
  for (let r = 0; r < b; r++) {
    if (k === 1) {
      if (f[r] > 0 === y[r] > 0) correct++;
      continue;
    }
    const row = Array.from({ length: k }, (_, j) => f[r * k + j]);
    const target = Array.from({ length: k }, (_, j) => y[r * k + j]);
    if (row.indexOf(Math.max(...row)) === target.indexOf(Math.max(...target))) correct++;
  }
  return correct / b;
}
