// How to get λ_max of an NTK that changes every step: form K and iterate on the nk×nk matrix, or never form
// it and iterate on products K·v = J(Jᵀv). A pure cost model (multiply-adds × 2) picks the cheaper, as
// neural-tangents' implementations are chosen, but deterministically; a K that would pass the device's binding
// limit can only be matrix-free. Per trainable site with W of `weights` entries and `positions` output positions
// (1 for dense layers):
//   formed, structured (dense): ΔΔᵀ 2·(nk)²·out + XXᵀ 2·n²·in (none for the first layer when its input Gram is kept);
//   formed, by Jacobian:        per-example gradients 2·nk·weights·positions + contraction 2·(nk)²·weights;
//   matrix-free:                each product is a backward and a forward-mode pass, 2·(2·n·weights·positions);
// then each power iteration on a formed K is one (nk)² product. Memory decides first: forming K needs it (4·(nk)²
// bytes) and all n examples' per-site sensitivities (4·nk·outSize bytes) in one binding each, and the n
// examples in one pass; matrix-free needs neither (it runs in chunks of examples).
import type { SiteInfo } from '../nn/network.ts';

/** 'formed': K formed (structured where every layer has the formula, else by per-example gradients); 'matrix-free': products J(Jᵀv). */
export type NtkMethod = 'formed' | 'matrix-free';
export const NTK_METHOD_CHOICES = ['auto', 'formed', 'matrix-free'] as const;
export type NtkMethodChoice = (typeof NTK_METHOD_CHOICES)[number];

export interface NtkCostInputs {
  sites: readonly SiteInfo[];
  /** Examples and outputs: K is nk×nk. */
  n: number;
  k: number;
  /** Power iterations per evaluation. */
  iterations: number;
  /** Whether the first layer's input Gram X·Xᵀ is already formed (fixed inputs). */
  inputGram: boolean;
}

/** Flops of each method for one λ_max evaluation ('formed': by whichever method the layers allow). */
export function ntkCosts(c: NtkCostInputs): Record<NtkMethod, number> {
  const nk = c.n * c.k;
  let form = 0;
  let pass = 0;
  for (const [i, s] of c.sites.entries()) {
    if (s.frozen) continue;
    const weights = s.weight.count + (s.bias?.count ?? 0);
    const positions = s.outSize / s.layer.ntk.units;
    pass += 2 * c.n * weights * positions;
    if (s.structured) {
      form += 2 * nk * nk * s.outSize;
      if (i > 0 || !c.inputGram) form += 2 * c.n * c.n * s.inSize;
    } else {
      form += 2 * nk * weights * positions + 2 * nk * nk * weights;
    }
  }
  return {
    formed: form + c.iterations * 2 * nk * nk,
    'matrix-free': c.iterations * 2 * pass,
  };
}

/** The most examples whose K can be formed: one pass of the network, each site's sensitivities in one binding. */
export function formedRowsLimit(sites: readonly SiteInfo[], k: number, passRows: number, maxBindingBytes: number): number {
  const widest = Math.max(1, ...sites.map((s) => s.outSize));
  return Math.min(passRows, Math.floor(maxBindingBytes / (4 * k * widest)));
}

/** The cheaper method, or matrix-free when forming K would not fit (K in one binding, n ≤ formedRows). */
export function chooseNtkMethod(c: NtkCostInputs & { maxBindingBytes: number; formedRows?: number }): NtkMethod {
  if (4 * (c.n * c.k) ** 2 > c.maxBindingBytes || c.n > (c.formedRows ?? Infinity)) return 'matrix-free';
  const cost = ntkCosts(c);
  return cost['matrix-free'] < cost.formed ? 'matrix-free' : 'formed';
}
