// The bundled CIFAR-like set (data/photos-cifar2.json says where each photo comes from and under which terms):
// 32×32×3 crops of public-domain and CC0 photos that Debian's python3-skimage ships, "living subjects"
// labelled 7 and "machines and objects" labelled 9, as CIFAR-2's classes are, in CIFAR-10's binary format.
// scripts/make-photos.py makes it; it stands in for CIFAR-2, which is not bundled.
export const BUNDLED_PHOTOS = 'data/photos-cifar2.bin.gz';

/** Its two labels, the classes a data config of kind "photos" keeps unless it says otherwise. */
export const PHOTO_CLASSES = [7, 9];
