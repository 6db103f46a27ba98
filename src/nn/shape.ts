// The shape of one example as the layers see it: [channels, height, width], a fully connected layer's
// features being [d, 1, 1].
/** [channels, height, width] of one example. */
export type Shape = readonly [c: number, h: number, w: number];

export const shapeSize = (s: Shape) => s[0] * s[1] * s[2];
export const sameShape = (a: Shape, b: Shape) => a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
export const shapeText = (s: Shape) => (s[1] === 1 && s[2] === 1 ? `${s[0]}` : `${s[0]}×${s[1]}×${s[2]}`);
