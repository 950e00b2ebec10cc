"""scripts/get_emoji.py: an emoji tarball as npm ships it, written as a class-per-folder set."""

import io
import json
import pathlib
import subprocess
import sys
import tarfile

import numpy as np
import pytest
from PIL import Image

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "scripts"))
import get_emoji  # noqa: E402

from dcgan_tf.errors import InputError  # noqa: E402

ENTRIES = [
    {"image": "1f600.png", "category": "Smileys & Emotion", "has_img_twitter": True},
    {"image": "1f44d.png", "category": "People & Body", "has_img_twitter": True,
     "skin_variations": {"1F3FB": {"image": "1f44d-1f3fb.png", "has_img_twitter": True},
                         "1F3FF": {"image": "1f44d-1f3ff.png", "has_img_twitter": False}}},
    {"image": "1f1eb-1f1f7.png", "category": "Flags", "has_img_twitter": True},
    {"image": "1f9ff.png", "category": "Objects", "has_img_twitter": False},
]


@pytest.fixture
def tarball(tmp_path):
    """An emoji-datasource-twitter-like .tgz: emoji.json and half-transparent RGBA PNGs."""
    path = tmp_path / "emoji.tgz"
    with tarfile.open(path, "w:gz") as archive:
        def add(name, payload):
            member = tarfile.TarInfo(name)
            member.size = len(payload)
            archive.addfile(member, io.BytesIO(payload))

        add("package/emoji.json", json.dumps(ENTRIES).encode())
        for name in ("1f600.png", "1f44d.png", "1f44d-1f3fb.png", "1f1eb-1f1f7.png"):
            image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
            image.paste((200, 40, 40, 255), (16, 16, 48, 48))
            buffer = io.BytesIO()
            image.save(buffer, "PNG")
            add(f"package/img/twitter/64/{name}", buffer.getvalue())
    return path


def test_write_folder_makes_a_subfolder_per_category_with_rgb_on_the_background(tarball,
                                                                                 tmp_path):
    out = tmp_path / "out"
    counts = get_emoji.write_folder(str(tarball), "twitter", str(out))

    assert counts == {"smileys_emotion": 1, "people_body": 2, "flags": 1}
    image = np.asarray(Image.open(out / "people_body" / "1f44d-1f3fb.png"))
    assert image.shape == (64, 64, 3)
    assert image[0, 0].tolist() == [255, 255, 255]  # Transparent -> white.
    assert image[32, 32].tolist() == [200, 40, 40]


def test_write_folder_without_skin_tones_and_with_only(tarball, tmp_path):
    counts = get_emoji.write_folder(str(tarball), "twitter", str(tmp_path / "a"),
                                    skin_tones=False)
    assert counts["people_body"] == 1
    counts = get_emoji.write_folder(str(tarball), "twitter", str(tmp_path / "b"),
                                    only=("1f600.png",))
    assert counts == {"smileys_emotion": 1}


def test_the_folder_trains_as_dataset_folder(tarball, tmp_path):
    from dcgan_tf import data, folder_measure  # TensorFlow only for this test.
    from dcgan_tf.config import Config

    get_emoji.write_folder(str(tarball), "twitter", str(tmp_path / "out"))
    config = data.resolve(Config(dataset="folder", data_dir=str(tmp_path / "out"),
                                 batch_size=4))
    assert data.load_images(config).images.shape == (4, 64, 64, 3)
    with pytest.raises(InputError, match="4 readable images; the folder measure needs"):
        folder_measure.read_folder(str(tmp_path / "out"), (64, 64, 3))


def test_fetch_without_npm_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(get_emoji.shutil, "which", lambda name: None)
    with pytest.raises(InputError, match="npm is not installed.*--tarball"):
        get_emoji.fetch_tarball("twitter", str(tmp_path))


@pytest.mark.parametrize("case, message", [("junk", "not a readable .tgz"),
                                           ("existing_out", "not an empty folder")])
def test_cli_bad_input_exits_2_naming_it(tmp_path, case, message):
    junk = tmp_path / "junk.tgz"
    junk.write_bytes(b"not a tarball")
    out = tmp_path / "out"
    if case == "existing_out":
        out.mkdir()
        (out / "mine.txt").write_text("keep me")
    result = subprocess.run([sys.executable, "scripts/get_emoji.py", f"--tarball={junk}",
                             f"--out={out}"], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    assert message in result.stderr and "Traceback" not in result.stderr
    if case == "existing_out":
        assert (out / "mine.txt").read_text() == "keep me"
