"""Builds tests/data/photos/: 64x64 JPEG crops of real photographs, for colour runs.

    pip install scikit-image && python scripts/make_photo_folder.py

No CelebA or CIFAR-10 ships offline, so this folder stands in for one in the
tests and in docs/pytorch.md's smoke run: crops at several positions and scales
of the public-domain and CC0 photographs that scikit-image ships (see
tests/data/photos/README.md). 100 images of 5 scenes are far too few to learn a
distribution from; a run on them shows that the colour pipeline works end to
end, not what a DCGAN makes of faces.
"""

import os

import numpy as np
from PIL import Image
import skimage.data

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "tests", "data", "photos")
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field")
SIDE = 64
# (fraction of the photo's short side, crops per axis) per scale.
SCALES = ((1.0, (1, 4)), (0.7, (2, 2)), (0.45, (3, 4)))


def crops(image):
    """Square crops of `image` (uint8 [H, W, 3]) at each scale and position."""
    height, width = image.shape[:2]
    for fraction, counts in SCALES:
        side = int(min(height, width) * fraction)
        along = (counts if height <= width else counts[::-1])
        for top in np.linspace(0, height - side, along[0]).astype(int):
            for left in np.linspace(0, width - side, along[1]).astype(int):
                yield image[top:top + side, left:left + side]


def main():
    os.makedirs(OUT, exist_ok=True)
    count = 0
    for name in PHOTOS:
        for index, crop in enumerate(crops(getattr(skimage.data, name)())):
            tile = Image.fromarray(crop).resize((SIDE, SIDE), Image.LANCZOS)
            tile.save(os.path.join(OUT, f"{name}_{index:02d}.jpg"), quality=90)
            count += 1
    print(f"Wrote {count} JPEGs to {OUT}")


if __name__ == "__main__":
    main()
