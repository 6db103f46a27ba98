// The table `auto` reads (src/kernels/gemm-choice.ts): what each adapter class runs for the shapes the engine
// meets. Changing a rule changes this test on purpose, with bench/RESULTS.md's comparison to back it.
import { describe, expect, it } from 'vitest';
import { TILE_16x16_4x4, TILE_8x8_8x8_DIRECT, TILE_COLUMN } from '../shaders/gemm-tiled.ts';
import { VEC4_TILE_4x8, VEC4_TILE_8x8 } from '../shaders/gemm-vec4.ts';
import { chooseGemm } from '../src/kernels/gemm-choice.ts';
import type { AdapterClass } from '../src/gpu/gpu.ts';


const pick = (kind: AdapterClass, M: number, N: number, K: number, transA = false, transB = false, subgroups = true) => chooseGemm({ M, N, K }, transA, transB, kind, subgroups);

describe('kernel choice per adapter class', () => {
  for (const kind of ['lavapipe', 'swiftshader', 'software'] as const) {
    it(`${kind}: gemv for vectors, thin direct tiles where a vector is unaligned, split-K only for one-tile outputs`, () => {
      expect(pick(kind, 2000, 1, 2000).variant).toBe('gemv');
      expect(pick(kind, 1, 1024, 128, true, false).variant).toBe('gemv');
      expect(pick(kind, 37, 1, 101)).toMatchObject({ variant: 'tiled', tile: { ...TILE_COLUMN, direct: true } });
      expect(pick(kind, 64, 64, 20_000, false, true).variant).toBe('splitk');
      expect(pick(kind, 128, 128, 20_000, false, true).variant).not.toBe('splitk');
    });
  }

  it('lavapipe: subgroup shuffles for outputs 256 wide (without Aᵀ), float4 blocks for transposed products', () => {
    expect(pick('lavapipe', 512, 512, 512).variant).toBe('subgroup');
    expect(pick('lavapipe', 32, 1024, 3072, false, true).variant).toBe('subgroup');
    expect(pick('lavapipe', 512, 512, 512, true, false)).toMatchObject({ variant: 'vec4', vec4Tile: VEC4_TILE_8x8 });
    expect(pick('lavapipe', 128, 128, 1024, false, true)).toMatchObject({ variant: 'vec4', vec4Tile: VEC4_TILE_8x8 });
    expect(pick('lavapipe', 32, 128, 1000, false, true)).toMatchObject({ variant: 'vec4', vec4Tile: VEC4_TILE_4x8 });
    expect(pick('lavapipe', 100, 200, 30)).toMatchObject({ variant: 'tiled', tile: TILE_8x8_8x8_DIRECT });
    // Without the feature, the float4 and direct kernels take those shapes.
    expect(pick('lavapipe', 512, 512, 512, false, false, false)).toMatchObject({ variant: 'tiled', tile: TILE_8x8_8x8_DIRECT });
    expect(pick('lavapipe', 512, 512, 512, false, true, false)).toMatchObject({ variant: 'vec4', vec4Tile: VEC4_TILE_8x8 });
  });

  it('SwiftShader: direct tiles everywhere but 32 rows or fewer (float4 4×8), never subgroups', () => {
    for (const [tA, tB] of [[false, false], [false, true], [true, false]] as const) expect(pick('swiftshader', 512, 512, 512, tA, tB)).toMatchObject({ variant: 'tiled', tile: TILE_8x8_8x8_DIRECT });
    expect(pick('swiftshader', 32, 1024, 3072, false, true)).toMatchObject({ variant: 'vec4', vec4Tile: VEC4_TILE_4x8 });
  });

  it('gpu: staged 64×64 tiles, split-K until there are enough workgroups, staged thin tiles', () => {
    expect(pick('gpu', 512, 512, 512, false, true)).toMatchObject({ variant: 'tiled', tile: TILE_16x16_4x4 });
    expect(pick('gpu', 128, 128, 20_000, false, true)).toMatchObject({ variant: 'splitk', tile: TILE_16x16_4x4 });
    expect(pick('gpu', 2000, 1, 2000)).toMatchObject({ variant: 'splitk', tile: TILE_COLUMN });
    expect(pick('gpu', 300, 1, 40)).toMatchObject({ variant: 'tiled', tile: TILE_COLUMN });
  });
});
