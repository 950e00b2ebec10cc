"""The shippable networks: files that need no dcgan_tf to run.

`export_model` writes a SavedModel with Keras 3's `model.export`, in inference
mode (BatchNorm's moving averages, no Dropout), for any batch size B:
  generator/       serve: float32 noise [B, noise_dim] -> float32 images
                   [B, H, W, C] in [-1, 1]
  discriminator/   serve: float32 images [B, H, W, C] in [-1, 1] -> float32
                   logits [B, 1] (sigmoid(logit) is D's probability of "real")
Reload either anywhere with `tf.saved_model.load(path).serve(x)`.

A conditional run's networks take the class too, as a second argument, and say
how many classes they know:
  generator/       serve(noise, label): label int32 [B] in [0, num_classes)
                   num_classes(): int32 scalar
  discriminator/   serve(image, label), num_classes()
    loaded = tf.saved_model.load("runs/mnist/generator")
    sevens = loaded.serve(tf.random.normal([8, 100]), tf.fill([8], 7))

`export_generator_formats` converts generator/ into the other formats
(--export_formats), each with the same input and output, for any B:
  generator.tflite  LiteRT (TensorFlow Lite) flat buffer, for phones and
                    `ai_edge_litert` / `tf.lite.Interpreter`
  generator.onnx    ONNX (opset 17), for onnxruntime and onnxruntime-web
                    (input "noise", and "label" when conditional; the only
                    output is the images; the metadata entry "num_classes")
Each is run on fixed noise where it is written and kept only if its images
match the SavedModel's to MAX_DIFFERENCE.

A SavedModel is a program: only load ones from sources you trust.
"""

import contextlib
import dataclasses
import importlib.util
import json
import logging
import os
import tempfile
import warnings

import numpy as np
import tensorflow as tf

from dcgan_tf import cli, files, run_dir
from dcgan_tf.config import EXPORT_FORMATS, export_format_names
from dcgan_tf.errors import InputError

logger = logging.getLogger(__name__)

FILE_NAMES = run_dir.EXPORT_FILES  # Beside generator/ in a run directory, by format.
# Largest difference allowed between a converted generator's images and the
# SavedModel's, both in [-1, 1], float32.
MAX_DIFFERENCE = 1e-4
ONNX_OPSET = 17  # onnxruntime-web runs it.
# What `pip install .[onnx]` adds; ONNX export needs all of them.
ONNX_MODULES = ("tf2onnx", "onnx", "onnxruntime")


def export_model(model, path, num_classes=0):
    """Writes `model` as a SavedModel at `path`, replacing any previous one.

    The export goes to a temporary folder first, so an interrupted export leaves
    the previous SavedModel intact.

    Args:
        model: keras.Model, the generator or the discriminator.
        path: the SavedModel folder.
        num_classes: 0, or a conditional model's classes: its `serve` then takes
            (x, label) and a `num_classes` endpoint returns the count.
    """
    # A name of its own, next to `path`: two exports to one place never share a
    # temporary folder. One left by a killed export is removed when its run restarts.
    parent, name = os.path.split(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    temporary = tempfile.mkdtemp(prefix=f"{name}.partial-", dir=parent)
    os.chmod(temporary, 0o777 & ~files.umask())  # mkdtemp's folders are owner-only.
    try:
        with _without_info_logs("tensorflow"):
            if num_classes:
                _conditional_archive(model, num_classes).write_out(temporary, verbose=False)
            else:
                model.export(temporary, format="tf_saved_model", verbose=False)
        files.replace_directory(temporary, path)
    finally:
        files.remove(temporary)  # Gone after the swap; left over only on a failure.


def _conditional_archive(model, num_classes):
    """An ExportArchive with serve(x, label) (argument names from the model's
    inputs) and num_classes()."""
    import keras
    archive = keras.export.ExportArchive()
    archive.track(model)
    specs = [tf.TensorSpec(tensor.shape, tensor.dtype, name=tensor.name.split(":")[0])
             for tensor in model.inputs]

    def serve_generator(noise, label):
        return model([noise, label], training=False)

    def serve_discriminator(image, label):
        return model([image, label], training=False)

    archive.add_endpoint("serve", serve_generator if specs[0].name == "noise"
                         else serve_discriminator, input_signature=specs)
    archive.add_endpoint("num_classes", lambda: tf.constant(num_classes, tf.int32),
                         input_signature=[])
    return archive


def installed_formats():
    """The formats this installation can write: SavedModel and LiteRT always
    (both inside TensorFlow), ONNX with the [onnx] extra."""
    onnx = all(importlib.util.find_spec(name) for name in ONNX_MODULES)
    return tuple(name for name in EXPORT_FORMATS if name != "onnx" or onnx)


def chosen_formats(text):
    """--export_formats resolved: '' = every installed format; the SavedModel always.

    Raises:
        InputError: a named format is not installed (ONNX without the extra).
    """
    installed = installed_formats()
    names = export_format_names(text) or installed
    missing = [name for name in names if name not in installed]
    if missing:
        raise InputError(f"--export_formats={text}: {', '.join(missing)} needs "
                         f"{', '.join(ONNX_MODULES)}; install them with `pip install "
                         "'.[onnx]'` (or leave onnx out).")
    return ("saved_model", *(name for name in names if name != "saved_model"))


def export_generator_formats(saved_model, formats, noise_dim, folder=None, num_classes=0):
    """Converts the generator SavedModel at `saved_model` into each of `formats`
    (but saved_model), in `folder` (None: beside it), and checks each against it
    (a conditional one, num_classes > 0, on every class).

    A format that fails to convert or to match is left out and named in a
    warning; the SavedModel and the run are never affected. Any older file of a
    format not written now is removed, so no file disagrees with generator/.

    Returns:
        dict format -> the largest difference measured, for those written.
    """
    written = {}
    folder = folder or os.path.dirname(os.path.abspath(saved_model))
    loaded = tf.saved_model.load(saved_model)  # Kept: `serve` holds its variables weakly.
    count = max(4, num_classes)
    inputs = (np.random.default_rng(0).standard_normal((count, noise_dim)).astype(np.float32),)
    if num_classes:
        inputs += (np.arange(count, dtype=np.int32) % num_classes,)
    reference = np.asarray(loaded.serve(*inputs))
    for name in formats:
        if name == "saved_model":
            continue
        path = os.path.join(folder, FILE_NAMES[name])
        try:  # The converters' C++ log lines (grappler, LiteRT's delegate) hidden.
            with files.atomic_path(path) as temporary, cli.native_start_up_hidden():
                _CONVERTERS[name](saved_model, loaded, temporary, noise_dim, num_classes)
                difference = max_difference(temporary, inputs, reference)
                if not difference <= MAX_DIFFERENCE:
                    raise ValueError(f"its images differ from the SavedModel's by up to "
                                     f"{difference:.2g} (allowed: {MAX_DIFFERENCE:g})")
            written[name] = difference
        except Exception as e:  # Converters raise many types; the run must go on.
            files.remove(path)
            logger.warning("No %s: %s export failed (%s). The SavedModel %s is complete.",
                           FILE_NAMES[name], name, str(e).strip().splitlines()[0][:300]
                           if str(e).strip() else type(e).__name__, saved_model)
    for name, file_name in FILE_NAMES.items():  # An older export of a format not made now.
        if name not in written:
            files.remove(os.path.join(folder, file_name))
    return written


def max_difference(converted, inputs, reference):
    """The largest absolute difference between the images the converted file
    draws from `inputs` ((noise,) or (noise, labels)) and `reference`, the
    SavedModel's images of them."""
    run, _, _ = load_runner(converted)
    return float(np.abs(run(*inputs) - reference).max())


def load_runner(path):
    """Runs the .tflite or .onnx generator file at `path` (the extension decides).

    Returns:
        (run, noise_dim, num_classes): run(noise, labels=None) maps float32 noise
        [B, noise_dim] (and for a conditional generator int32 labels [B]) to
        float32 images [B, H, W, C] (NumPy); num_classes is 0 for an
        unconditional generator, and None when a conditional .tflite file has no
        run config.json beside it to tell.
    """
    if path.endswith(".onnx"):
        import onnxruntime
        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        sources = {source.name: source for source in session.get_inputs()}
        metadata = session.get_modelmeta().custom_metadata_map

        def run_onnx(noise, labels=None):
            feed = {"noise": np.asarray(noise, np.float32)}
            if "label" in sources:
                feed["label"] = np.asarray(labels, np.int32)
            return session.run(None, feed)[0]
        num_classes = 0
        if "label" in sources:  # A file from elsewhere may lack the metadata: unknown.
            num_classes = int(metadata["num_classes"]) if "num_classes" in metadata else None
        return run_onnx, sources["noise"].shape[-1], num_classes
    with warnings.catch_warnings():  # tf.lite.Interpreter's notice about ai_edge_litert.
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(model_path=path)
    sources = {("label" if "label" in detail["name"] else "noise"): detail
               for detail in interpreter.get_input_details()}
    target, = interpreter.get_output_details()

    def run_litert(noise, labels=None):
        feed = {"noise": np.asarray(noise, np.float32)}
        if "label" in sources:
            feed["label"] = np.asarray(labels, np.int32)
        for name, value in feed.items():
            interpreter.resize_tensor_input(sources[name]["index"], value.shape)
        interpreter.allocate_tensors()
        for name, value in feed.items():
            interpreter.set_tensor(sources[name]["index"], value)
        interpreter.invoke()
        return interpreter.get_tensor(target["index"]).copy()
    num_classes = _run_num_classes(path) if "label" in sources else 0
    return run_litert, int(sources["noise"]["shape_signature"][-1]), num_classes


def _run_num_classes(path):
    """The num_classes of the run config.json beside `path`, or None."""
    try:
        with open(run_dir.RunDir(os.path.dirname(os.path.abspath(path))).config_json,
                  encoding="utf-8") as f:
            return int(json.load(f)["num_classes"]) or None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _to_litert(saved_model, loaded, path, noise_dim, num_classes):
    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model, signature_keys=["serve"])
    with _without_info_logs("tensorflow"), open(path, "wb") as f:
        f.write(converter.convert())


def _to_onnx(saved_model, loaded, path, noise_dim, num_classes):
    import onnx
    import tf2onnx
    signature = [tf.TensorSpec([None, noise_dim], tf.float32, name="noise")]
    if num_classes:
        signature.append(tf.TensorSpec([None], tf.int32, name="label"))
    with _without_info_logs("tf2onnx"):
        model, _ = tf2onnx.convert.from_function(loaded.serve, input_signature=signature,
                                                 opset=ONNX_OPSET)
    if num_classes:
        onnx.helper.set_model_props(model, {"num_classes": str(num_classes)})
    onnx.save(model, path)


_CONVERTERS = {"litert": _to_litert, "onnx": _to_onnx}


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
        serve: callable, float32 [B, noise_dim] -> float32 [B, *image_shape];
            a conditional generator's takes int32 labels [B] as well.
        noise_dim: length of a noise vector.
        image_shape: (H, W, C) of one generated image.
        saved_model: the loaded SavedModel. It owns the variables, which `serve`
            references only weakly: `serve` fails once this is garbage-collected.
        num_classes: 0 for an unconditional generator; a conditional one's
            classes (None when a .tflite file cannot tell).
    """
    serve: object
    noise_dim: int
    image_shape: tuple
    saved_model: object = dataclasses.field(default=None, repr=False)
    num_classes: int | None = 0

    @property
    def conditional(self):
        return self.num_classes != 0


def load_generator(path):
    """Loads and checks an exported generator: a SavedModel folder, or a
    generator.tflite or generator.onnx file (see export_generator_formats).

    Raises:
        InputError: `path` is none of those, or its `serve` signature does not
            map float32 [B, noise_dim] (and int32 labels [B]) to float32
            [B, H, W, 1 or 3].
    """
    if os.path.isfile(path) and path.endswith((".tflite", ".onnx")):
        return _load_converted(path)
    if not os.path.isfile(os.path.join(path, "saved_model.pb")):
        hint = ""
        if os.path.isfile(os.path.join(run_dir.RunDir(path).generator, "saved_model.pb")):
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
    inputs = dict(signature.structured_input_signature[1])
    label = inputs.pop("label", None)
    inputs = list(inputs.values())
    outputs = list(signature.structured_outputs.values())
    problem = None
    if len(inputs) != 1 or len(outputs) != 1:
        problem = f"{len(inputs)} inputs and {len(outputs)} outputs, expected 1 and 1"
    elif label is not None and (label.dtype != tf.int32 or label.shape.rank != 1):
        problem = f"label input {label.dtype.name} {label.shape}, expected int32 [B]"
    else:
        noise, image = inputs[0], outputs[0]
        if noise.dtype != tf.float32 or noise.shape.rank != 2 or noise.shape[1] is None:
            problem = f"input {noise.dtype.name} {noise.shape}, expected float32 [B, noise_dim]"
        elif (image.dtype != tf.float32 or image.shape.rank != 4
              or image.shape[-1] not in (1, 3) or None in image.shape[1:]):
            problem = f"output {image.dtype.name} {image.shape}, expected float32 [B, H, W, 1|3]"
    if problem:
        raise InputError(f"--model={path}: not a dcgan_tf generator: {problem}.")
    num_classes = 0
    if label is not None:
        num_classes = int(loaded.num_classes()) if hasattr(loaded, "num_classes") else None
    return LoadedGenerator(serve=loaded.serve, noise_dim=int(noise.shape[1]),
                           image_shape=tuple(int(d) for d in image.shape[1:]),
                           saved_model=loaded, num_classes=num_classes)


def _load_converted(path):
    """A .tflite or .onnx generator as a LoadedGenerator."""
    try:
        run, noise_dim, num_classes = load_runner(path)
        image_shape = tuple(int(d) for d in run(np.zeros((1, noise_dim), np.float32),
                                                np.zeros(1, np.int32)).shape[1:])
    except ImportError as e:
        raise InputError(f"--model={path}: reading it needs {e.name}; install it with "
                         "`pip install '.[onnx]'`.") from e
    except Exception as e:  # Each runtime raises its own types for a bad file.
        raise InputError(f"--model={path}: cannot load it "
                         f"({str(e).strip().splitlines()[0][:300] if str(e).strip() else e!r}).") from e
    if len(image_shape) != 3 or image_shape[-1] not in (1, 3):
        raise InputError(f"--model={path}: not a dcgan_tf generator: output {image_shape}, "
                         "expected [B, H, W, 1|3].")
    return LoadedGenerator(serve=run, noise_dim=int(noise_dim), image_shape=image_shape,
                           num_classes=num_classes)
