"""The shippable networks: TensorFlow SavedModels that need no dcgan_tf to run.

`export_model` writes one with Keras 3's `model.export`, in inference mode
(BatchNorm's moving averages, no Dropout), for any batch size B:
  generator/       serve: float32 noise [B, noise_dim] -> float32 images
                   [B, H, W, C] in [-1, 1]
  discriminator/   serve: float32 images [B, H, W, C] in [-1, 1] -> float32
                   logits [B, 1] (sigmoid(logit) is D's probability of "real")
Reload either anywhere with `tf.saved_model.load(path).serve(x)`.

A SavedModel is a program: only load ones from sources you trust.
"""

import contextlib
import dataclasses
import logging
import os
import tempfile

import tensorflow as tf

from dcgan_tf import files
from dcgan_tf.errors import InputError


def export_model(model, path):
    """Writes `model` as a SavedModel at `path`, replacing any previous one.

    The export goes to a temporary folder first, so an interrupted export leaves
    the previous SavedModel intact.
    """
    # A name of its own, next to `path`: two exports to one place never share a
    # temporary folder. One left by a killed export is removed when its run restarts.
    parent, name = os.path.split(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    temporary = tempfile.mkdtemp(prefix=f"{name}.partial-", dir=parent)
    os.chmod(temporary, 0o777 & ~files.umask())  # mkdtemp's folders are owner-only.
    try:
        with _without_info_logs("tensorflow"):
            model.export(temporary, format="tf_saved_model", verbose=False)
        files.replace_directory(temporary, path)
    finally:
        files.remove(temporary)  # Gone after the swap; left over only on a failure.


@contextlib.contextmanager
def _without_info_logs(name):
    """Raises logger `name` to WARNING for a while.

    In a notebook TensorFlow logs at INFO, and every export would print "Assets
    written to: .../generator.partial/assets", naming the temporary folder.
    """
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)


@dataclasses.dataclass(frozen=True)
class LoadedGenerator:
    """An exported generator and the shapes its signature declares.

    Attributes:
        serve: callable, float32 [B, noise_dim] -> float32 [B, *image_shape].
        noise_dim: length of a noise vector.
        image_shape: (H, W, C) of one generated image.
        saved_model: the loaded SavedModel. It owns the variables, which `serve`
            references only weakly: `serve` fails once this is garbage-collected.
    """
    serve: object
    noise_dim: int
    image_shape: tuple
    saved_model: object = dataclasses.field(default=None, repr=False)


def load_generator(path):
    """Loads and checks an exported generator.

    Raises:
        InputError: `path` is not a SavedModel, or its `serve` signature does not
            map float32 [B, noise_dim] to float32 [B, H, W, 1 or 3].
    """
    if not os.path.isfile(os.path.join(path, "saved_model.pb")):
        hint = ""
        if os.path.isfile(os.path.join(path, "generator", "saved_model.pb")):
            hint = f" It looks like a run directory: use --model={os.path.join(path, 'generator')}"
        raise InputError(f"--model={path}: not a SavedModel folder (no saved_model.pb).{hint}")
    try:
        loaded = tf.saved_model.load(path)
    except Exception as e:  # Corrupt protobufs and missing variables raise various types.
        raise InputError(f"--model={path}: cannot load the SavedModel ({e}).") from e
    signature = loaded.signatures.get("serve")
    if signature is None:
        raise InputError(f"--model={path}: has no 'serve' endpoint "
                         f"(signatures: {sorted(loaded.signatures.keys())}).")
    inputs = list(signature.structured_input_signature[1].values())
    outputs = list(signature.structured_outputs.values())
    problem = None
    if len(inputs) != 1 or len(outputs) != 1:
        problem = f"{len(inputs)} inputs and {len(outputs)} outputs, expected 1 and 1"
    else:
        noise, image = inputs[0], outputs[0]
        if noise.dtype != tf.float32 or noise.shape.rank != 2 or noise.shape[1] is None:
            problem = f"input {noise.dtype.name} {noise.shape}, expected float32 [B, noise_dim]"
        elif (image.dtype != tf.float32 or image.shape.rank != 4
              or image.shape[-1] not in (1, 3) or None in image.shape[1:]):
            problem = f"output {image.dtype.name} {image.shape}, expected float32 [B, H, W, 1|3]"
    if problem:
        raise InputError(f"--model={path}: not a dcgan_tf generator: {problem}.")
    return LoadedGenerator(serve=loaded.serve, noise_dim=int(noise.shape[1]),
                           image_shape=tuple(int(d) for d in image.shape[1:]),
                           saved_model=loaded)
