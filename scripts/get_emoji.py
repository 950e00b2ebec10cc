"""Writes an emoji image set as a folder for `train.py --dataset=folder`.

    python scripts/get_emoji.py --set=twitter --out=data/emoji_twitter
    python train.py --dataset=folder --data_dir=data/emoji_twitter

The images come from the npm package `emoji-datasource-<set>` (version 16.0.0,
MIT licence; the artwork keeps its own open licence, see the package's README):
about 3,700 64x64 RGBA PNGs drawn by professional designers, each with one of
the package's categories ("Smileys & Emotion", "Animals & Nature", "Flags", ...).
`npm pack` fetches the package's tarball from the npm registry; no Node project
is needed. With --tarball, an already fetched .tgz is used and nothing is
downloaded.

The folder has one subfolder per category (`smileys_emotion/`, `flags/`, ...),
which `--conditional` can use as class labels and the folder quality measure as
its classifier's labels. Transparent pixels are composited on --background, so
every image is plain RGB, as emoji are seen on a page.
"""

import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile

from absl import flags
from PIL import Image

from dcgan_tf import cli  # noqa: E402
from dcgan_tf.errors import InputError  # noqa: E402

SETS = ("twitter", "facebook", "google", "apple")
VERSION = "16.0.0"

flags.DEFINE_enum("set", "twitter", SETS, "Which artwork: the package "
                  "emoji-datasource-<set>.")
flags.DEFINE_string("out", None, "Folder to write (one subfolder per category); it must "
                    "not exist yet, or be empty.")
flags.DEFINE_string("tarball", "", "An emoji-datasource-<set>-16.0.0.tgz already on disk; "
                    "'' = fetch it with `npm pack`.")
flags.DEFINE_string("background", "white", "Colour behind transparent pixels: a name or "
                    "#rrggbb that Pillow knows.")
flags.DEFINE_bool("skin_tones", True, "Include the skin-tone variants (about half of the "
                  "set, mostly 'People & Body').")
flags.DEFINE_string("only", "", "Comma-separated image file names to keep (e.g. the "
                    "images two sets share); '' = every image of the set.")
flags.mark_flag_as_required("out")
FLAGS = flags.FLAGS


def category_folder(category):
    """'Smileys & Emotion' -> 'smileys_emotion'."""
    return re.sub(r"[^a-z0-9]+", "_", category.lower()).strip("_")


def image_categories(entries, image_set, skin_tones=True):
    """Image file name -> category, for every image the set draws.

    Args:
        entries: the parsed emoji.json list.
        image_set: one of SETS (entries carry has_img_<set>).
        skin_tones: include each entry's skin_variations.
    """
    found = {}
    for entry in entries:
        variants = [entry] + (list(entry.get("skin_variations", {}).values())
                              if skin_tones else [])
        for variant in variants:
            if variant.get(f"has_img_{image_set}", False) and variant.get("image"):
                found[variant["image"]] = entry["category"]
    return found


def fetch_tarball(image_set, directory):
    """Runs `npm pack` in `directory`; returns the .tgz path."""
    package = f"emoji-datasource-{image_set}@{VERSION}"
    if shutil.which("npm") is None:
        raise InputError(f"npm is not installed, and it fetches {package}. Install Node.js "
                         "and npm (Debian: apt-get install npm), or pass --tarball=<the "
                         ".tgz fetched elsewhere>.")
    result = subprocess.run(["npm", "pack", package], cwd=directory, capture_output=True,
                            text=True)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise InputError(f"`npm pack {package}` failed ({last}): the npm registry must be "
                         "reachable, or pass --tarball=<the .tgz fetched elsewhere>.")
    return os.path.join(directory, result.stdout.strip().splitlines()[-1])


def write_folder(tarball, image_set, out, background="white", skin_tones=True, only=()):
    """Writes every image of `tarball` under out/<category>/; returns the count per folder."""
    try:
        archive = tarfile.open(tarball, "r:gz")
    except (OSError, tarfile.TarError) as e:
        raise InputError(f"--tarball={tarball}: not a readable .tgz ({e}).") from e
    with archive:
        try:
            entries = json.load(archive.extractfile("package/emoji.json"))
        except (KeyError, ValueError) as e:
            raise InputError(f"--tarball={tarball}: no package/emoji.json in it; is it "
                             f"emoji-datasource-{image_set}?") from e
        categories = image_categories(entries, image_set, skin_tones)
        if only:
            categories = {name: c for name, c in categories.items() if name in set(only)}
        prefix = f"package/img/{image_set}/64/"
        counts = {}
        for member in archive.getmembers():
            name = member.name.removeprefix(prefix)
            if not member.isfile() or not member.name.startswith(prefix) \
                    or name not in categories:
                continue
            image = Image.open(io.BytesIO(archive.extractfile(member).read()), formats=["PNG"])
            canvas = Image.new("RGBA", image.size, background)
            rgb = Image.alpha_composite(canvas, image.convert("RGBA")).convert("RGB")
            folder = category_folder(categories[name])
            os.makedirs(os.path.join(out, folder), exist_ok=True)
            rgb.save(os.path.join(out, folder, name))
            counts[folder] = counts.get(folder, 0) + 1
    if not counts:
        raise InputError(f"--tarball={tarball}: no images of the {image_set} set under "
                         f"{prefix}.")
    return counts


def main():
    if os.path.exists(FLAGS.out) and (not os.path.isdir(FLAGS.out) or os.listdir(FLAGS.out)):
        raise InputError(f"--out={FLAGS.out}: exists and is not an empty folder; choose a "
                         "new one.")
    only = tuple(name for name in FLAGS.only.split(",") if name)
    with tempfile.TemporaryDirectory() as scratch:
        tarball = FLAGS.tarball or fetch_tarball(FLAGS.set, scratch)
        counts = write_folder(tarball, FLAGS.set, FLAGS.out, FLAGS.background,
                              FLAGS.skin_tones, only)
    for folder, count in sorted(counts.items()):
        print(f"{count:6d}  {folder}")
    print(f"Wrote {sum(counts.values())} images of the {FLAGS.set} set to {FLAGS.out}")


if __name__ == "__main__":
    cli.run(main, FLAGS)
