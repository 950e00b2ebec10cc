"""Does the folder measure rank runs the way the eye does? A ladder of 64x64 emoji runs.

    python benchmarks/measure_check.py        # after benchmarks/small_data.py trained its rows

Measures generators of clearly different quality, all trained on the Twitter emoji
at 64x64, with both feature networks of dcgan_tf/folder_measure.py (the classifier
trained on the set's categories, and the untrained random network): two short runs
this script trains (2 and 100 steps of the default flags), and every emoji64 row of
benchmarks/small_data.py that finished. Writes benchmarks/results/small_data/
measure_check.json and docs/figures/small_data/measure_ladder.png: 8 samples of
each generator, one row each, in the order the classifier measure puts them, with
Facebook's drawings of the same emoji and the real Twitter images at the bottom.
"""

import json
import os
import subprocess
import sys

import numpy as np
from absl import flags
from PIL import Image

from runner import write_json
from small_data import EMOJI_DIR, OTHER_ARTWORK_DIR, RESULTS, ROWS
from quality import REPO
from dcgan_tf import cli
from dcgan_tf.doc_blocks import fill_block
from quality_report import slug

RUNS = os.path.join(REPO, "benchmarks", "runs", "small_data")
FIGURE = os.path.join(REPO, "docs", "figures", "small_data", "measure_ladder.png")
LADDER = {"default, 2 steps": 2, "default, 100 steps": 100}
KINDS = ("classifier", "random")


def train_short(name, steps):
    workdir = os.path.join(RUNS, "ladder", slug(name))
    if not os.path.exists(os.path.join(workdir, "generator", "saved_model.pb")):
        subprocess.run([sys.executable, os.path.join(REPO, "train.py"), "--dataset=folder",
                        f"--data_dir={EMOJI_DIR}", "--image_size=64", f"--workdir={workdir}",
                        f"--max_steps={steps}", "--epochs=1"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return os.path.join(workdir, "generator")


def evaluate(source, kind, out):
    """evaluate.py on a generator (a SavedModel path) or a folder of real images."""
    if not os.path.exists(out):
        half = _half()
        what = ([f"--images={source}", "--image_size=64"] if not source.endswith("generator")
                else [f"--model={source}"])
        subprocess.run([sys.executable, os.path.join(REPO, "evaluate.py"), *what,
                        "--dataset=folder", f"--data_dir={EMOJI_DIR}", f"--features={kind}",
                        f"--num={half}", f"--out={out}"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(out, encoding="utf-8") as f:
        return json.load(f)


def _half():
    from dcgan_tf import readers
    return len(readers.list_image_files(EMOJI_DIR)) // 2


def samples(source, count=8):
    """uint8 [count, 64, 64, 3]: a generator's first samples (seed 0), or real images."""
    from dcgan_tf import export, folder_measure, sampling
    if source.endswith("generator"):
        images = sampling.sample(export.load_generator(source), count, seed=0)
        return np.uint8(np.clip(np.round((images + 1) * 127.5), 0, 255))
    folder = folder_measure.read_folder(source, (64, 64, 3))
    picked = np.random.default_rng(0).choice(len(folder.images), count, replace=False)
    return folder.images[picked]


def ladder_text(result):
    """docs/metrics.md's ladder block from the stored measure_check.json."""
    rows, floor, order = result["rows"], result["floor"], result["order"]
    lines = ["| generator (top to bottom in the picture) | Fréchet, classifier features | "
             "Fréchet, random features |", "| --- | --- | --- |"]
    lines += [f"| {r['name']} | {r['classifier']['frechet']:.1f} | {r['random']['frechet']:.3g} |"
              for r in rows]
    lines.append(f"| real vs real (floor: half A against half B) | {floor['classifier']:.1f} | "
                 f"{floor['random']:.3g} |")
    agree = ("the same order" if order["classifier"] == order["random"] else
             "different orders (random: " + " > ".join(order["random"]) + ")")
    link = os.path.relpath(FIGURE, os.path.join(REPO, "docs"))
    return "\n".join(lines) + (
        f"\n\n{result['samples']:,} samples against the {result['samples']:,} images of half B. "
        f"The two feature networks give {agree}.\n\n![8 samples of each generator, worst at "
        f"the top; then Facebook's and Twitter's real images]({link})\n")


def main():
    sources = {name: train_short(name, steps) for name, steps in LADDER.items()}
    for name, (group, _) in ROWS.items():
        generator = os.path.join(RUNS, slug(name), "seed0", "generator")
        if group == "emoji64" and os.path.exists(os.path.join(generator, "saved_model.pb")):
            sources[f"{name.split(': ', 1)[1]}, seed 0"] = generator
    sources["Facebook's drawings (real)"] = OTHER_ARTWORK_DIR
    rows = []
    for name, source in sources.items():
        measured = {kind: evaluate(source, kind, os.path.join(
            RUNS, "ladder", f"{slug(name)}_{kind}.json"))["generated"] for kind in KINDS}
        rows.append(dict(name=name, **{kind: dict(frechet=measured[kind]["frechet"]["value"],
                                                  kid=measured[kind]["kernel"]["value"])
                                       for kind in KINDS}))
        print(f"{name}: " + ", ".join(f"{kind} {rows[-1][kind]['frechet']:.1f}"
                                      for kind in KINDS), flush=True)
    rows.sort(key=lambda row: -row["classifier"]["frechet"])
    floor = {kind: evaluate(OTHER_ARTWORK_DIR, kind, os.path.join(
        RUNS, "ladder", f"facebook_{kind}.json"))["real_vs_real_floor"]["frechet"]["value"]
        for kind in KINDS}
    order = {kind: [r["name"] for r in sorted(rows, key=lambda r: -r[kind]["frechet"])]
             for kind in KINDS}
    write_json(os.path.join(RESULTS, "measure_check.json"), dict(
        rows=rows, floor=floor, same_order=order["classifier"] == order["random"],
        order=order, samples=_half()))
    strips = [np.concatenate(list(samples(sources[row["name"]])), axis=1) for row in rows]
    strips.append(np.concatenate(list(samples(EMOJI_DIR)), axis=1))
    gap = np.full((4, strips[0].shape[1], 3), 255, np.uint8)
    picture = np.concatenate([piece for strip in strips for piece in (strip, gap)][:-1])
    os.makedirs(os.path.dirname(FIGURE), exist_ok=True)
    # A 256-colour palette keeps the committed figure small (a third of the RGB PNG).
    Image.fromarray(picture).quantize(256).save(FIGURE, optimize=True)
    with open(os.path.join(RESULTS, "measure_check.json"), encoding="utf-8") as f:
        text = ladder_text(json.load(f))
    fill_block(os.path.join(REPO, "docs", "metrics.md"), "ladder", text, tool="measure_check.py")
    print(text)


if __name__ == "__main__":
    cli.run(main, flags.FLAGS)
