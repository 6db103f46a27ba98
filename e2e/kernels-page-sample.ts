// A seeded split and the first batches of a seeded order, drawn the same way in the page and in Node
// (e2e/kernels.spec.ts compares them): splits and batch orders must not depend on the host.
import { BatchOrder, split } from '../src/data/splits.ts';

export function splitSample(seed: number): number[][] {
  const s = split(1000, { train: 600, val: 200, test: 100 }, seed);
  const order = new BatchOrder(600, 32, seed);
  const batches = Array.from({ length: 20 }, () => Array.from(order.next())); // crosses an epoch boundary
  return [Array.from(s.train), Array.from(s.val), Array.from(s.test), ...batches];
}
