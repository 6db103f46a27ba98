// How to get λ_max of an NTK that changes every step: form K and iterate on the nk×nk matrix, or never form
// it and iterate on products K·v = J(Jᵀv). A pure cost model (multiply-adds × 2) picks the cheaper; a K that
// would pass the device's binding limit can only be matrix-free.
//   structured:  per trainable layer (ΔΔᵀ: nk·nk·fanOut) + (AAᵀ: n·n·fanIn, none for the first layer when
//                its input Gram is kept), then each power iteration is one nk×nk product;
//   matrix-free: each iteration is one backward pass with parameter gradients and one forward-mode pass,
//                about two passes of n·parameters each (the forward pass is shared by the step).
import type { ParamLayout } from '../nn/layout.ts';

export type NtkMethod = 'structured' | 'matrix-free';
export const NTK_METHOD_CHOICES = ['auto', 'structured', 'matrix-free'] as const;
export type NtkMethodChoice = (typeof NTK_METHOD_CHOICES)[number];

export interface NtkCostInputs {
  layout: ParamLayout;
  /** Examples and outputs: K is nk×nk. */
  n: number;
  k: number;
  /** Power iterations per evaluation. */
  iterations: number;
  /** Whether the first layer's input Gram X·Xᵀ is already formed (fixed inputs). */
  inputGram: boolean;
}

/** Flops of each method for one λ_max evaluation. */
export function ntkCosts(c: NtkCostInputs): Record<NtkMethod, number> {
  const nk = c.n * c.k;
  let form = 0;
  let params = 0;
  for (const l of c.layout.layers) {
    if (l.frozen) continue;
    params += l.fanIn * l.fanOut + (l.biasOffset >= 0 ? l.fanOut : 0);
    form += 2 * nk * nk * l.fanOut;
    if (l.index > 0 || !c.inputGram) form += 2 * c.n * c.n * l.fanIn;
  }
  return {
    structured: form + c.iterations * 2 * nk * nk,
    'matrix-free': c.iterations * 2 * (2 * c.n * params),
  };
}

/** The cheaper method, or matrix-free when K (4·(nk)² bytes) would not fit in one storage binding. */
export function chooseNtkMethod(c: NtkCostInputs & { maxBindingBytes: number }): NtkMethod {
  if (4 * (c.n * c.k) ** 2 > c.maxBindingBytes) return 'matrix-free';
  const cost = ntkCosts(c);
  return cost['matrix-free'] < cost.structured ? 'matrix-free' : 'structured';
}
