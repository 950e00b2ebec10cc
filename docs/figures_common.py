"""What docs/figures.py and docs/figures_trained.py share: writing figures, tables, spectra."""

import io
import os
import re

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

DPI = 72


def save_figure(figure, out_dir, name, tight=True):
    """Writes a figure as a palette PNG: a third of the RGB size, for committing."""
    if tight:  # A colorbar spanning several axes does not take tight_layout.
        figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, dpi=DPI, format="png", bbox_inches="tight")
    plt.close(figure)
    save_palette_png(Image.open(buffer), os.path.join(out_dir, name))


def save_palette_png(image, path):
    """Writes a PIL image as a 256-colour PNG (figures and plots need no more)."""
    image.convert("RGB").quantize(colors=256).save(path, optimize=True)


def markdown_table(header, rows):
    """A Markdown table: header is a list of column titles, rows lists of cells."""
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def mean_power_spectrum(images):
    """Mean 2-D power spectrum of float [N, H, W] images (zero frequency at [0, 0])."""
    return (np.abs(np.fft.fft2(images)) ** 2).mean(axis=0)


def nyquist_to_median(spectrum):
    """Mean power at the three Nyquist frequencies over the median power.

    The checkerboard is the period-2 pattern, and a period of 2 pixels is the
    Nyquist frequency: [size/2, 0], [0, size/2] and [size/2, size/2].
    """
    half = spectrum.shape[0] // 2
    nyquist = [spectrum[half, 0], spectrum[0, half], spectrum[half, half]]
    return float(np.mean(nyquist) / np.median(spectrum[1:, 1:]))


def log_spectrum_image(spectrum):
    """log10 power with the zero frequency moved to the centre, for imshow."""
    return np.log10(np.fft.fftshift(spectrum) + 1e-12)


def fill_pages(docs_dir, blocks):
    """Replaces each `<!-- figures.py: NAME -->...<!-- /figures.py: NAME -->` block."""
    for page in sorted(os.listdir(docs_dir)):
        if not page.endswith(".md"):
            continue
        path = os.path.join(docs_dir, page)
        with open(path) as f:
            text = f.read()
        for name, block in blocks.items():
            pattern = re.compile(rf"(<!-- figures\.py: {name} -->\n).*?(<!-- /figures\.py: "
                                 rf"{name} -->)", re.DOTALL)
            text = pattern.sub(lambda m: m.group(1) + block + m.group(2), text)
        with open(path, "w") as f:
            f.write(text)
