"""Shows a run's generator in the browser: `python -m dcgan_tf.serve_web --model=runs/mnist`.

Copies the run's generator.onnx next to the page in web/ (a grid of samples, a
button for new noise, a slider that walks between two latent points) and serves
both on 127.0.0.1 until Ctrl-C. The page runs the model with onnxruntime-web,
installed once with `npm ci --prefix web`. A run trained without the [onnx]
extra has no generator.onnx: it is converted from generator/ here (needs
`pip install '.[onnx]'`).
"""

import functools
import http.server
import json
import os
import shutil
import signal
import sys
import tempfile

from absl import flags

from dcgan_tf import cli, run_dir
from dcgan_tf.errors import InputError

WEB_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "web")
PAGE_FILES = ("index.html", "app.js")
ORT_DIST = os.path.join("node_modules", "onnxruntime-web", "dist")

flags.DEFINE_string("model", None, "The run directory (e.g. runs/mnist), its generator/ "
                    "folder or its generator.onnx.")
flags.DEFINE_integer("port", 8000, "Port on 127.0.0.1; 0 = any free port.", lower_bound=0,
                     upper_bound=65535)
flags.DEFINE_string("web_dir", WEB_DIR, "The page's folder, with onnxruntime-web installed in "
                    "it (npm ci --prefix <it>).")
flags.mark_flag_as_required("model")
FLAGS = flags.FLAGS


def find_onnx(model):
    """(path of generator.onnx, path of the SavedModel beside it) for --model:
    a run directory, its generator/ folder, or a .onnx file. Either may not exist."""
    if model.endswith(".onnx"):
        return model, run_dir.RunDir(os.path.dirname(model)).generator
    if os.path.isfile(os.path.join(model, "saved_model.pb")):
        model = os.path.dirname(os.path.abspath(model))
    return run_dir.RunDir(model).exported("onnx"), run_dir.RunDir(model).generator


def prepare(model, web_dir, root):
    """Fills `root` with the page, onnxruntime-web and the model; returns the model's
    (noise_dim, image_shape).

    Raises:
        InputError: no page or onnxruntime-web in `web_dir`, or no generator.onnx
            and no SavedModel to convert (or no converter installed).
    """
    ort_dir = os.path.join(web_dir, ORT_DIST)
    missing = [name for name in PAGE_FILES if not os.path.isfile(os.path.join(web_dir, name))]
    if missing:
        raise InputError(f"--web_dir={web_dir}: no {', '.join(missing)}; point it at the "
                         "web/ folder of dcgan_tf.")
    if not os.path.isfile(os.path.join(ort_dir, "ort.wasm.min.js")):
        raise InputError(f"--web_dir={web_dir}: onnxruntime-web is not installed there; run "
                         f"`npm ci --prefix {web_dir}` once (it needs Node.js and npm).")
    from dcgan_tf import export  # TensorFlow: after the checks above answered.

    onnx_path, saved_model = find_onnx(model)
    os.makedirs(os.path.join(root, "model"))
    served = os.path.join(root, "model", "generator.onnx")
    if os.path.isfile(onnx_path):
        shutil.copyfile(onnx_path, served)
    elif os.path.isfile(os.path.join(saved_model, "saved_model.pb")):
        export.chosen_formats("onnx")  # An InputError naming the extra when it is missing.
        loaded = export.load_generator(saved_model)
        print(f"No {onnx_path}; converting {saved_model} to ONNX...", flush=True)
        if "onnx" not in export.export_generator_formats(
                saved_model, ("onnx",), loaded.noise_dim, folder=os.path.dirname(served),
                num_classes=loaded.num_classes or 0):
            raise InputError(f"--model={model}: the ONNX conversion failed (see the warning "
                             "above).")
    else:
        raise InputError(f"--model={model}: no generator.onnx and no generator/ SavedModel "
                         "there; pass a run directory made by train.py.")
    loaded = export.load_generator(served)
    height, width, channels = loaded.image_shape
    with open(os.path.join(root, "model", "info.json"), "w") as f:
        json.dump(dict(noise_dim=loaded.noise_dim, height=height, width=width,
                       channels=channels, num_classes=loaded.num_classes or 0), f)
    for name in PAGE_FILES:
        shutil.copyfile(os.path.join(web_dir, name), os.path.join(root, name))
    os.symlink(os.path.abspath(ort_dir), os.path.join(root, "ort"))
    return loaded.noise_dim, loaded.image_shape


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder with the types the page needs (WASM, modules), without a log
    line per file."""
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".mjs": "text/javascript",
                      ".onnx": "application/octet-stream"}

    def log_message(self, format, *args):  # One line per file would bury the URL.
        pass


def _stop(number, frame):
    raise KeyboardInterrupt  # SIGTERM stops the server as Ctrl-C does, removing its folder.


def main():
    signal.signal(signal.SIGTERM, _stop)
    with tempfile.TemporaryDirectory(prefix="dcgan_tf_web-") as root:
        cli.import_tensorflow()
        noise_dim, image_shape = prepare(FLAGS.model, FLAGS.web_dir, root)
        handler = functools.partial(QuietHandler, directory=root)
        try:
            server = http.server.ThreadingHTTPServer(("127.0.0.1", FLAGS.port), handler)
        except OSError as e:
            raise InputError(f"--port={FLAGS.port}: cannot listen on it ({e.strerror}); "
                             "pass another, or 0 for any free port.") from None
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        print(f"Serving {FLAGS.model} (noise {noise_dim}, images "
              f"{'x'.join(map(str, image_shape))}) at {url}\nOpen it in a browser; "
              "Ctrl-C stops.", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("Stopped.", file=sys.stderr)
        finally:
            server.server_close()


if __name__ == "__main__":
    cli.quiet_native_logs()
    cli.run(main, FLAGS)
