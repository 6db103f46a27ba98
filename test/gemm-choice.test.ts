// The table `auto` reads (src/gpu/gemm-choice.ts): what each adapter class runs for the shapes the engine
// meets. Changing a rule changes this test on purpose, with bench/RESULTS.md's comparison to back it.
import { describe, expect, it } from 'vitest';
import { TILE_16x16_4x4, TILE_8x8_8x8_DIRECT, TILE_COLUMN } from '../shaders/gemm-tiled.ts';
import { VEC4_TILE_4x8, VEC4_TILE_8x8 } from '../shaders/gemm-vec4.ts';
import { chooseGemm } from '../src/gpu/gemm-choice.ts';
import type { AdapterClass } from '../src/gpu/gpu.ts';

const pick = (kind: AdapterClass, M: number, N: number, K: number, transA = false, transB = false) => chooseGemm({ M, N, K }, transA, transB, kind);

describe('kernel choice per adapter class', () => {
  for (const kind of ['lavapipe', 'swiftshader', 'software'] as const) {
    it(`${kind}: float4 for A·Bᵀ, direct tiles for A·B and Aᵀ·B, short tiles for 32 rows, gemv for vectors`, () => {
      expect(pick(kind, 512, 512, 512, false, true)).toMatchObject({ variant: 'vec4', vec4Tile: VEC4_TILE_8x8 });
      expect(pick(kind, 512, 512, 512)).toMatchObject({ variant: 'tiled', tile: TILE_8x8_8x8_DIRECT });
      expect(pick(kind, 1024, 100, 128, true, false)).toMatchObject({ variant: 'tiled', tile: TILE_8x8_8x8_DIRECT });
      expect(pick(kind, 32, 1024, 3072, false, true)).toMatchObject({ variant: 'vec4', vec4Tile: VEC4_TILE_4x8 });
      expect(pick(kind, 2000, 1, 2000).variant).toBe('gemv');
      expect(pick(kind, 1, 1024, 128, true, false).variant).toBe('gemv');
      // Unaligned vectors fall back to thin tiles read straight from storage.
      expect(pick(kind, 37, 1, 101)).toMatchObject({ variant: 'tiled', tile: { ...TILE_COLUMN, direct: true } });
      // 128×128 has four 64×64 tiles, enough for two cores: no split-K even with K = 20,000; one tile splits.
      expect(pick(kind, 128, 128, 20_000, false, true).variant).toBe('vec4');
      expect(pick(kind, 64, 64, 20_000, false, true).variant).toBe('splitk');
    });
  }

  it('gpu: staged 64×64 tiles, split-K until there are enough workgroups, staged thin tiles', () => {
    expect(pick('gpu', 512, 512, 512, false, true)).toMatchObject({ variant: 'tiled', tile: TILE_16x16_4x4 });
    expect(pick('gpu', 128, 128, 20_000, false, true)).toMatchObject({ variant: 'splitk', tile: TILE_16x16_4x4 });
    expect(pick('gpu', 2000, 1, 2000)).toMatchObject({ variant: 'splitk', tile: TILE_COLUMN });
    expect(pick('gpu', 300, 1, 40)).toMatchObject({ variant: 'tiled', tile: TILE_COLUMN });
  });
});
