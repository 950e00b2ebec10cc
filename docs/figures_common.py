"""What docs/figures.py and docs/figures_trained.py share: writing figures, tables, spectra."""

import io
import os

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from dcgan_tf import doc_blocks  # noqa: E402
from dcgan_tf.visualize import save_palette_png  # noqa: E402

DPI = 72


def save_figure(figure, out_dir, name, tight=True):
    """Writes a figure as a palette PNG: a third of the RGB size, for committing."""
    if tight:  # A colorbar spanning several axes does not take tight_layout.
        figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, dpi=DPI, format="png", bbox_inches="tight")
    plt.close(figure)
    save_palette_png(Image.open(buffer), os.path.join(out_dir, name))


def markdown_table(header, rows):
    """A Markdown table: header is a list of column titles, rows lists of cells."""
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def log_spectrum_image(spectrum):
    """log10 power with the zero frequency moved to the centre, for imshow."""
    return np.log10(np.fft.fftshift(spectrum) + 1e-12)


def fill_pages(docs_dir, blocks):
    """Fills each `<!-- figures.py: NAME -->` block of the pages in `docs_dir`."""
    doc_blocks.fill_blocks_in(docs_dir, blocks, "figures.py")
