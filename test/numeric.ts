/** Unit roundoff of float32. */
export const U = 2 ** -24;

/** ‖got − want‖ / ‖want‖ (Frobenius), the relative error of a whole array. */
export function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i] - want[i]) ** 2;
    den += want[i] ** 2;
  }
  return Math.sqrt(num / (den || 1));
}
