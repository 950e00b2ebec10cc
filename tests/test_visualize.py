"""dcgan_tf.visualize: the loss plot, and leaving the user's matplotlib alone."""

import os
import subprocess
import sys

import numpy as np
from PIL import Image

from dcgan_tf import visualize


def test_plot_losses_draws_both_panels_into_a_png(tmp_path):
    steps = np.arange(1, 41)
    history = {"step": steps,
               "generator_loss": 0.7 + 0.01 * steps, "discriminator_loss": 1.4 - 0.01 * steps,
               "real_score": np.full(40, 0.6), "fake_score": np.full(40, 0.4)}
    path = tmp_path / "losses.png"
    visualize.plot_losses(str(path), history, steps_per_epoch=10)
    image = np.asarray(Image.open(path).convert("RGB"))  # A 256-colour (palette) PNG.
    assert image.shape[:2] == (600, 800)  # figsize (8, 6) at 100 dpi
    # Lines in colour were drawn (matplotlib's default blue and orange), not an empty canvas.
    colourful = np.ptp(image[..., :3].astype(int), axis=-1) > 60
    assert colourful.mean() > 0.002
    assert sorted(os.listdir(tmp_path)) == ["losses.png"]  # No temporary file (".losses...") left.


def test_importing_the_package_leaves_the_matplotlib_backend_alone():
    # A notebook's inline plots or a GUI window keep working after `import dcgan_tf...`:
    # the package never calls matplotlib.use. (Keras imports pyplot, which by itself picks no
    # backend until a figure is drawn.)
    code = ("import matplotlib\n"
            "before = matplotlib.rcParams._get_backend_or_none()\n"
            "from dcgan_tf import training, visualize, evaluation\n"
            "assert matplotlib.rcParams._get_backend_or_none() == before, 'backend changed'\n")
    env = {name: value for name, value in os.environ.items() if name != "MPLBACKEND"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert result.returncode == 0, result.stderr[-2000:]
