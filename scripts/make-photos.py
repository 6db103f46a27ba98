#!/usr/bin/env python3
"""Makes data/photos-cifar2.bin.gz, the bundled CIFAR-like two-class set, and its provenance file.

CIFAR-2 (the paper's classes 7 and 9 of CIFAR-10) is not bundled and cannot be downloaded here. This set
stands in for it: 32x32x3 crops of colour photos that Debian's python3-skimage ships and that scikit-image's
documentation marks as public domain or CC0, two photos per class, labelled 7 and 9 as CIFAR-2 is, written in
CIFAR-10's binary format (a label byte, then the 1024 red, 1024 green and 1024 blue bytes, rows top to bottom).

Each crop is a square of 32*m pixels (m drawn from 2..MAX_BLOCK, at most the photo's shorter side) at a drawn
position, averaged over m x m blocks to 32x32 (exact integer means, rounded half up), mirrored left-right
for every other draw. Draws come from a splitmix64 stream of the fixed seed, so the file is a pure function of
the photos: test/photos.test.ts runs this script again and compares bytes.

Usage: python3 scripts/make-photos.py [OUT_DIR]   (default: data/)
"""
import gzip
import json
import os
import sys

import numpy as np
import skimage
import skimage.data

SEED = 2026
PER_CLASS = 600
MAX_BLOCK = 8
FILE = 'photos-cifar2.bin.gz'

# scikit-image's own words on each photo (its skimage.data docstrings), with the label each one's crops get.
PHOTOS = [
    {'name': 'chelsea', 'label': 7, 'subject': 'Chelsea the cat', 'licence': 'CC0', 'by': 'Stefan van der Walt (photographer)', 'source': 'scikit-image'},
    {'name': 'astronaut', 'label': 7, 'subject': 'the astronaut Eileen Collins', 'licence': 'public domain', 'by': 'NASA', 'source': 'https://flic.kr/p/r9qvLn'},
    {'name': 'rocket', 'label': 9, 'subject': 'a SpaceX Falcon 9 rocket', 'licence': 'public domain', 'by': 'SpaceX', 'source': 'https://www.flickr.com/photos/spacexphotos/16511594820/'},
    {'name': 'coffee', 'label': 9, 'subject': 'a cup of coffee', 'licence': 'CC0', 'by': 'Rachel Michetti (photographer)', 'source': 'scikit-image'},
]


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & 0xFFFFFFFFFFFFFFFF

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        return z ^ (z >> 31)

    def below(self, n):
        return self.next() % n


def crop(image, rng, flip):
    h, w, _ = image.shape
    m = 2 + rng.below(min(MAX_BLOCK, min(h, w) // 32) - 1)
    side = 32 * m
    top, left = rng.below(h - side + 1), rng.below(w - side + 1)
    block = image[top:top + side, left:left + side].astype(np.int64)
    sums = block.reshape(32, m, 32, m, 3).sum(axis=(1, 3))
    small = ((2 * sums + m * m) // (2 * m * m)).astype(np.uint8)
    if flip:
        small = small[:, ::-1]
    return small, {'top': int(top), 'left': int(left), 'side': side}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', 'data')
    rng = SplitMix64(SEED)
    images = {p['name']: getattr(skimage.data, p['name'])() for p in PHOTOS}
    records = []
    for label in (7, 9):
        photos = [p for p in PHOTOS if p['label'] == label]
        for i in range(PER_CLASS):
            photo = photos[i % len(photos)]
            small, _ = crop(images[photo['name']], rng, flip=(i // len(photos)) % 2 == 1)
            records.append((label, small))
    # Interleave the classes so that a prefix of the file holds both.
    order = [j for pair in zip(range(PER_CLASS), range(PER_CLASS, 2 * PER_CLASS)) for j in pair]
    body = bytearray()
    for j in order:
        label, small = records[j]
        body.append(label)
        body += small.transpose(2, 0, 1).tobytes()
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, FILE), 'wb') as f:
        # mtime 0 and no name: the gzip bytes depend on the pixels only.
        with gzip.GzipFile(fileobj=f, mode='wb', mtime=0, filename='') as g:
            g.write(bytes(body))
    provenance = {
        'file': FILE,
        'format': 'CIFAR-10 binary (1 label byte + 3072 pixel bytes per record, planes R, G, B), gzip',
        'records': 2 * PER_CLASS,
        'labels': {'7': 'living subjects (stands in for CIFAR-10 class 7, horse)', '9': 'machines and objects (stands in for class 9, truck)'},
        'made by': 'scripts/make-photos.py',
        'seed': SEED,
        'crops': f'squares of 32*m pixels, m in 2..{MAX_BLOCK}, averaged over m x m blocks; every other draw of a photo mirrored',
        'scikit-image': skimage.__version__,
        'photos': [{**p, 'shape': list(images[p['name']].shape), 'records': PER_CLASS // 2} for p in PHOTOS],
    }
    with open(os.path.join(out, 'photos-cifar2.json'), 'w') as f:
        json.dump(provenance, f, indent=2)
        f.write('\n')


if __name__ == '__main__':
    main()
