"""docs/tutorial.ipynb: committed lean, built on dcgan_tf, and runs end to end."""

import json
import os

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK = os.path.join(REPO, "docs", "tutorial.ipynb")
# A tiny budget: 2 epochs of 2 steps (128 images, batch 64).
EPOCHS, NUM_IMAGES = 2, 128


def _read():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    return notebook


def _code(notebook):
    return "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")


def _text_outputs(notebook):
    return "\n".join(output.get("text", "") + output.get("data", {}).get("text/plain", "")
                     for cell in notebook.cells if cell.cell_type == "code"
                     for output in cell.outputs)


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The notebook run by a python3 kernel in an empty folder: (notebook, folder)."""
    folder = tmp_path_factory.mktemp("notebook")
    notebook = _read()
    with pytest.MonkeyPatch.context() as patch:  # The kernel inherits this environment.
        patch.setenv("DCGAN_TUTORIAL_EPOCHS", str(EPOCHS))
        patch.setenv("DCGAN_TUTORIAL_IMAGES", str(NUM_IMAGES))
        patch.setenv("PYTHONPATH", os.pathsep.join(
            [REPO] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
        patch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
        # coalesce_streams: the kernel sends stdout in pieces, timed by its flush interval,
        # so one print can otherwise arrive as two outputs.
        NotebookClient(notebook, timeout=300, kernel_name="python3", coalesce_streams=True,
                       resources={"metadata": {"path": str(folder)}}).execute()
    return notebook, folder


def test_notebook_is_committed_with_the_outputs_of_one_real_run_and_stays_small():
    # Readable on a code-hosting site: every code cell ran, in order, in one kernel, at
    # the notebook's own budget (8 epochs: 8 frames), and printed no C++ log lines.
    notebook = _read()
    cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in cells] == list(range(1, len(cells) + 1))
    assert "8 frames" in _text_outputs(notebook)
    shown = [kind for cell in cells for output in cell.outputs for kind in output.get("data", {})]
    assert shown.count("image/gif") == 1 and shown.count("image/png") >= 4
    errors = "".join(output.get("text", "") for cell in cells for output in cell.outputs
                     if output.get("name") == "stderr")
    assert "E0000" not in errors and "I0000" not in errors and "Traceback" not in errors
    assert os.path.getsize(NOTEBOOK) < 300_000


def test_notebook_imports_dcgan_tf_instead_of_copying_its_code():
    code = _code(_read())
    assert "from dcgan_tf import" in code
    for copied in ("Conv2DTranspose", "layers.Dense", "BatchNormalization", "GradientTape",
                   "def train_step", "keras.Sequential"):
        assert copied not in code, copied


def test_notebook_parameter_cell_reads_the_tiny_budget_from_the_environment():
    first_code = next(cell for cell in _read().cells if cell.cell_type == "code")
    assert "parameters" in first_code.metadata.get("tags", [])
    assert "DCGAN_TUTORIAL_EPOCHS" in first_code.source
    assert "DCGAN_TUTORIAL_IMAGES" in first_code.source


def test_notebook_runs_and_writes_one_gif_frame_and_one_loss_row_per_step(executed):
    notebook, folder = executed
    workdir = folder / "runs" / "notebook"
    with Image.open(workdir / "progress.gif") as gif:
        assert gif.n_frames == EPOCHS
    batch_size = json.loads((workdir / "config.json").read_text())["batch_size"]
    rows = (workdir / "losses.csv").read_text().strip().splitlines()[1:]
    assert len(rows) == EPOCHS * (NUM_IMAGES // batch_size)
    assert f"{EPOCHS} frames" in _text_outputs(notebook)
    assert not (folder / "mnist_subset.npz").exists()  # Everything under the workdir.


def test_notebook_shows_its_pictures_and_the_gif(executed):
    notebook, _ = executed
    shown = [kind for cell in notebook.cells if cell.cell_type == "code"
             for output in cell.outputs for kind in output.get("data", {})]
    # Real digits, the untrained sample, the loss plot, the reloaded samples; the GIF.
    assert shown.count("image/png") >= 4, shown
    assert shown.count("image/gif") == 1, shown


def test_notebook_exported_generator_reloads_with_image_shape_and_range(executed):
    import tensorflow as tf  # Loaded here: only these tests need it.

    notebook, folder = executed
    generator = tf.saved_model.load(str(folder / "runs" / "notebook" / "generator"))
    images = generator.serve(tf.random.normal([5, 100])).numpy()
    assert images.shape == (5, 28, 28, 1) and images.dtype == np.float32
    assert images.min() >= -1 and images.max() <= 1 and images.std() > 0
    # The notebook's own reload printed the same shape, and its check passed (or it would
    # have raised before this).
    assert "(16, 28, 28, 1) float32" in _text_outputs(notebook)
    assert "largest difference, SavedModel vs checkpoint" in _text_outputs(notebook)
