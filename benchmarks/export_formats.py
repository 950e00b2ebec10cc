"""Sizes and speeds of the exported generator in each format.

    python benchmarks/export_formats.py          # writes results/export_formats.json, fills
                                                 # docs/performance.md's block

For the default 28x28x1 generator and the default 64x64x3 one of an image folder
(random weights: neither size nor speed depends on them): each format's file size,
and images per second at batch 1 and 64 for the SavedModel (TensorFlow), the LiteRT
interpreter, onnxruntime (both Python, all cores) and onnxruntime-web in headless
Chromium (WASM, one thread). Speeds are the median of 5 timings of 1 s or more.
"""

import functools
import http.server
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time

import numpy as np
from absl import flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from dcgan_tf import cli  # noqa: E402
from dcgan_tf.doc_blocks import fill_block  # noqa: E402
from dcgan_tf.devices import cpu_name  # noqa: E402

RESULT = os.path.join(REPO, "benchmarks", "results", "export_formats.json")
MODELS = {"28x28x1 (MNIST default)": dict(image_size=28, channels=1),
          "64x64x3 (folder default)": dict(image_size=64, channels=3, dataset="folder",
                                           data_dir="unused")}
BATCHES = (1, 64)


def _images_per_second(run, noise):
    run(noise)  # Warm-up: graph building, allocation.
    rates = []
    for _ in range(5):
        calls, began = 0, time.perf_counter()
        while time.perf_counter() - began < 1.0:
            run(noise)
            calls += 1
        rates.append(calls * len(noise) / (time.perf_counter() - began))
    return statistics.median(rates)


def _browser_rate(root, batch, chromium):
    """onnxruntime-web's images per second in headless Chromium, posted back by the page."""
    posted = {}

    from dcgan_tf import serve_web

    class Handler(serve_web.QuietHandler):  # serve_web's, and the page's result back.
        def do_POST(self):
            posted.update(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(Handler, directory=root))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/?n=1&bench={batch}"
    browser = subprocess.Popen([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                                "--user-data-dir=" + os.path.join(root, "profile"), url],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        began = time.time()
        while not posted and time.time() - began < 120:
            time.sleep(0.2)
    finally:
        browser.kill()
        browser.wait()
        server.shutdown()
        server.server_close()
    return posted.get("images_per_second")


def measure():
    from dcgan_tf import config, export, models, serve_web
    chromium = shutil.which("chromium")
    rows = []
    for name, settings in MODELS.items():
        with tempfile.TemporaryDirectory() as folder:
            cfg = config.Config(**settings)
            saved_model = os.path.join(folder, "generator")
            export.export_model(models.build_generator(cfg), saved_model)
            written = export.export_generator_formats(saved_model, export.installed_formats(),
                                                      cfg.noise_dim)
            files = {"saved_model": saved_model, **{
                f: os.path.join(folder, export.FILE_NAMES[f]) for f in written}}
            for fmt, path in files.items():
                size = (sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path)
                            for f in fs) if os.path.isdir(path) else os.path.getsize(path))
                loaded = export.load_generator(path)
                row = dict(model=name, format=fmt, bytes=size,
                           difference=written.get(fmt, 0.0))
                for batch in BATCHES:
                    noise = np.random.default_rng(0).standard_normal(
                        (batch, cfg.noise_dim)).astype(np.float32)
                    row[f"batch{batch}"] = _images_per_second(
                        lambda z: np.asarray(loaded.serve(z)), noise)
                rows.append(row)
                print(row, flush=True)
            if chromium and "onnx" in written:
                root = os.path.join(folder, "web")
                os.makedirs(root)
                serve_web.prepare(files["onnx"], serve_web.WEB_DIR, root)
                row = dict(model=name, format="onnx in Chromium (WASM, 1 thread)",
                           bytes=os.path.getsize(files["onnx"]), difference=written["onnx"])
                for batch in BATCHES:
                    row[f"batch{batch}"] = _browser_rate(root, batch, chromium)
                rows.append(row)
                print(row, flush=True)
    load = os.getloadavg()[0]
    with open(RESULT, "w") as f:
        json.dump(dict(date=time.strftime("%Y-%m-%d"), cpu=cpu_name(), load=round(load, 1),
                       rows=rows), f, indent=1)


def table(result):
    """The block of docs/performance.md, from the stored result."""
    lines = [f"Measured on {result['date']} ({result['cpu']}; load average {result['load']} "
             "at the end) with `python benchmarks/export_formats.py`; random weights, "
             "float32, images per second (the median of 5 timings of 1 s or more):", "",
             "| generator | format | size | batch 1 | batch 64 | vs SavedModel at 64 | "
             "largest difference |", "|---|---|---|---|---|---|---|"]
    reference = {row["model"]: row["batch64"] for row in result["rows"]
                 if row["format"] == "saved_model"}
    for row in result["rows"]:
        ratio = (f"{row['batch64'] / reference[row['model']]:.2f}x"
                 if row["batch64"] and reference.get(row["model"]) else "-")
        lines.append(
            f"| {row['model']} | {row['format']} | {row['bytes'] / 1e6:.1f} MB | "
            + " | ".join(f"{row[f'batch{b}']:,.0f}" if row[f"batch{b}"] else "-"
                         for b in BATCHES)
            + f" | {ratio} | {row['difference']:.1g} |")
    return "\n".join(lines) + "\n"


flags.DEFINE_bool("report", False, "Only rewrite the docs block from the stored result.")


def main():
    if not flags.FLAGS.report:
        measure()
    with open(RESULT) as f:
        text = table(json.load(f))
    fill_block(os.path.join(REPO, "docs", "performance.md"), "export formats", text,
               "export_formats.py")
    print(text)


if __name__ == "__main__":
    cli.run(main, flags.FLAGS)
