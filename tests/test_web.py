"""web/ and dcgan_tf.serve_web: the page draws a generator's samples in headless
Chromium, with the numbers onnxruntime gives in Python."""

import html
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from dcgan_tf import config, export, models, serve_web

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
READY = (CHROMIUM and "onnx" in export.installed_formats()
         and os.path.isdir(os.path.join(serve_web.WEB_DIR, serve_web.ORT_DIST)))
# CI installs all three (.ci/run); elsewhere the test says what is missing.
needs_browser = pytest.mark.skipif(
    not READY and not os.environ.get("CI"),
    reason="needs Debian's chromium, pip install '.[onnx]' and npm ci --prefix web")


def _serve(*flags, tmp=None):
    environment = {**os.environ, **({"TMPDIR": str(tmp)} if tmp else {})}
    return subprocess.Popen([sys.executable, "-m", "dcgan_tf.serve_web", "--port=0", *flags],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=environment)


@needs_browser
@pytest.mark.parametrize("num_classes, query, expected_labels", [
    (0, "", None), (10, "&label=3", [3, 3, 3, 3])])
def test_page_draws_the_generators_images_in_chromium(tmp_path, num_classes, query,
                                                       expected_labels):
    run = tmp_path / "run"  # Only a SavedModel: serve_web converts it to ONNX itself.
    generator = models.build_generator(config.Config(
        image_size=28, channels=1, noise_dim=16, conditional=bool(num_classes),
        num_classes=num_classes))
    rng = np.random.default_rng(1)
    generator.set_weights([w + 0.05 * rng.standard_normal(w.shape).astype(w.dtype)
                           for w in generator.get_weights()])
    export.export_model(generator, str(run / "generator"), num_classes)
    served = tmp_path / "tmp"  # Where the server keeps the page and the model.
    served.mkdir()
    server = _serve(f"--model={run}", tmp=served)
    try:
        first = server.stdout.readline()  # Blocks until it serves, or exits.
        url = re.search(r"http://127\.0\.0\.1:\d+/", first + server.stdout.readline())
        assert url, first + server.stderr.read()
        page = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
             "--virtual-time-budget=20000", "--dump-dom", f"{url.group()}?check=5&n=4{query}"],
            capture_output=True, text=True, timeout=120).stdout
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert not list(served.glob("dcgan_tf_web-*"))  # SIGTERM removed the server's folder.
    assert 'data-ready="yes"' in page, page[-2000:]
    assert ("4 samples of class 3, 28x28x1" if num_classes else "4 samples, 28x28x1") in page
    shown = json.loads(html.unescape(re.search(r'<pre id="check">(.*?)</pre>', page).group(1)))
    assert shown["dims"] == [4, 28, 28, 1]
    noise = np.array(shown["noise"], np.float32).reshape(4, 16)
    assert abs(noise.mean()) < 0.5 and 0.5 < noise.std() < 1.5  # Standard normal noise.
    browser = np.array(shown["values"], np.float32).reshape(4, 28, 28, 1)
    loaded = export.load_generator(str(run / "generator"))
    assert shown["labels"] == expected_labels
    expected = np.asarray(loaded.serve(noise, *([np.int32(expected_labels)] if num_classes
                                                 else [])))
    assert np.abs(browser - expected).max() <= 1e-4
    assert not (run / "generator.onnx").exists()  # The run directory is left as it was.


def test_serve_web_without_onnxruntime_web_exits_2_saying_how_to_install(tmp_path):
    web = tmp_path / "web"
    web.mkdir()
    for name in serve_web.PAGE_FILES:
        shutil.copy(os.path.join(serve_web.WEB_DIR, name), web / name)
    server = _serve(f"--model={tmp_path}", f"--web_dir={web}")
    _, stderr = server.communicate(timeout=120)
    assert server.returncode == 2
    assert f"npm ci --prefix {web}" in stderr and "Traceback" not in stderr


@needs_browser
def test_serve_web_without_a_generator_exits_2_naming_the_folder(tmp_path):
    server = _serve(f"--model={tmp_path}")
    _, stderr = server.communicate(timeout=120)
    assert server.returncode == 2
    assert f"--model={tmp_path}: no generator.onnx and no generator/" in stderr
