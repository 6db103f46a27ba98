// The cost model that picks how the batch NTK is tracked (src/ntk/method.ts).
import { describe, expect, it } from 'vitest';
import { layersLayout, networkSites } from '../src/nn/graph.ts';
import { modelLayers } from '../src/nn/models.ts';
import { chooseNtkMethod, formedRowsLimit, ntkCosts } from '../src/ntk/method.ts';

const sites = (hidden: number[], inputDim = 100) => {
  const layers = modelLayers({ hidden, hiddenBias: 0 }, [inputDim, 1, 1], 1);
  return networkSites(layers, layersLayout(layers));
};
const big = { maxBindingBytes: 2 ** 30 };

describe('NTK method choice', () => {
  it('forms small batches and iterates matrix-free on GD over thousands of examples', () => {
    const l = sites([256]);
    expect(chooseNtkMethod({ sites: l, n: 32, k: 1, iterations: 10, inputGram: true, ...big })).toBe('formed');
    expect(chooseNtkMethod({ sites: l, n: 2000, k: 1, iterations: 10, inputGram: true, ...big })).toBe('matrix-free');
    // Fewer iterations make the matrix-free side cheaper still; many make forming K worth it.
    const c4 = ntkCosts({ sites: l, n: 2000, k: 1, iterations: 4, inputGram: true });
    const c40 = ntkCosts({ sites: l, n: 2000, k: 1, iterations: 40, inputGram: true });
    expect(c4['matrix-free']).toBeLessThan(c4.formed / 4);
    expect(c40['matrix-free']).toBeGreaterThan(c40.formed);
  });

  it('counts the first layer\'s input Gram only when it is not kept', () => {
    const l = sites([64], 3072);
    const kept = ntkCosts({ sites: l, n: 128, k: 1, iterations: 1, inputGram: true }).formed;
    const formed = ntkCosts({ sites: l, n: 128, k: 1, iterations: 1, inputGram: false }).formed;
    expect(formed - kept).toBe(2 * 128 * 128 * 3072);
  });

  it('never forms a K that passes the binding limit', () => {
    expect(chooseNtkMethod({ sites: sites([16]), n: 8192, k: 1, iterations: 1000, inputGram: true, maxBindingBytes: 128 * 2 ** 20 })).toBe('matrix-free');
  });

  it('forms the CNN\'s K by per-example gradients where it fits, matrix-free where its examples do not fit one pass', () => {
    // The quick CNN-5 (16 channels, 14×14): forming beats 60 matrix-free products by a wide margin.
    const layers = modelLayers({ kind: 'cnn', depth: 5, channels: 16 }, [1, 14, 14], 1);
    const l = networkSites(layers, layersLayout(layers));
    const c = ntkCosts({ sites: l, n: 128, k: 1, iterations: 60, inputGram: true });
    expect(c.formed).toBeLessThan(c['matrix-free'] / 5);
    // The paper's (512 channels, 32×32×3) at n = 128 with lavapipe's 128 MiB bindings: a site's
    // sensitivities are 128 × 512·32·32 floats = 256 MiB, so at most 64 examples can be formed.
    const paper = modelLayers({ kind: 'cnn', depth: 5, channels: 512 }, [3, 32, 32], 1);
    const p = networkSites(paper, layersLayout(paper));
    const limit = 128 * 2 ** 20;
    expect(formedRowsLimit(p, 1, 1000, limit)).toBe(64);
    expect(formedRowsLimit(p, 1, 40, limit)).toBe(40); // one pass holds fewer
    expect(chooseNtkMethod({ sites: p, n: 128, k: 1, iterations: 20, inputGram: true, maxBindingBytes: limit, formedRows: 64 })).toBe('matrix-free');
    expect(chooseNtkMethod({ sites: p, n: 128, k: 1, iterations: 20, inputGram: true, maxBindingBytes: 2 ** 31, formedRows: 1024 })).toBe('formed');
  });
});
