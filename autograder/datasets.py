"""Data sets shipped with the course, loaded offline.

The handwritten digits (UCI optdigits, 1797 images of 8x8 pixels, as in scikit-learn's
`load_digits`) live in `autograder/data/digits.csv.gz`; provenance and licence are in
`autograder/data/README.md`.
"""

from __future__ import annotations

import gzip
from importlib import resources

import numpy as np

DIGITS_FILE = "digits.csv.gz"


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1797 handwritten digits.

    Returns `(images, labels)`: `images` is a float array of shape (1797, 8, 8) with pixel values
    0..16 (dark = 16), `labels` an int array of shape (1797,) with values 0..9. The order is the
    file's (and scikit-learn's), so `images.reshape(1797, 64)` equals `load_digits().data`.
    """
    with resources.files("autograder.data").joinpath(DIGITS_FILE).open("rb") as raw, gzip.open(raw, "rt") as text:
        table = np.loadtxt(text, delimiter=",", dtype=np.int64)
    images = table[:, :64].reshape(-1, 8, 8).astype(float)
    labels = table[:, 64].copy()
    return images, labels
