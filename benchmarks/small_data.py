"""Small and colour data: which settings give the best samples on a few thousand images.

    python scripts/get_emoji.py --set=twitter --out=data/emoji/twitter   # once
    python benchmarks/small_data.py --seeds=0,1                           # trains, resumable
    python benchmarks/small_data.py --measure                             # measures what trained
    python benchmarks/small_data.py --report                              # tables and grids

Two groups of rows, each a real `train.py` command:
  emoji64, emoji32: the twitter emoji set (3,786 images) at 64x64 or 32x32, measured
      by `evaluate.py` with the folder measure (dcgan_tf/folder_measure.py) against the
      set itself. Rows of one group get about the same training time on this CPU.
  mnist1000 / mnist100: 1,000 or 100 images of the bundled MNIST sample (a seeded
      random choice), repeated to 10,000 so that an epoch is as long as the full
      sample's: 10 epochs are the same 3,120 steps at batch 32 as the full sample's
      10-epoch budget. Measured by `evaluate.py` with the MNIST classifier, whose real
      reference is the sample's held-out fifth (as for every MNIST row).

Each finished stage leaves a small JSON under benchmarks/results/small_data/ (the
training's wall time, command and final frame first; the metrics once measured),
and is never run again: stop the benchmark at any point, start it again, and it
goes on with what is missing. Two trainings run at once, each pinned to one core
(`--cores=0,1`), as in benchmarks/quality.py.
"""

import json
import os
import shlex
import subprocess
import sys
import threading
import time

import numpy as np
from absl import flags
from quality import REPO  # Beside this file.
from quality_report import slug
from runner import pinned, run_queue, timed_run, write_json

from dcgan_tf import cli
from dcgan_tf.devices import cpu_name
from dcgan_tf.errors import InputError

RESULTS = os.path.join(REPO, "benchmarks", "results", "small_data")
FIGURES = os.path.join(REPO, "docs", "figures", "small_data")
EMOJI_DIR = os.path.join(REPO, "data", "emoji", "twitter")
OTHER_ARTWORK_DIR = os.path.join(REPO, "data", "emoji", "facebook")
EVAL_SAMPLES = 10000
AUGMENT = "--augment=color,translation,cutout"
# The emoji rows named "default" were run when --dataset=folder's default preset was
# dcgan; it is now colour, so those rows spell it out (their stored commands lack it).
DCGAN = "--preset=dcgan"
MNIST_REPEATED_TO = 10000

# name -> (group, flags). Order is priority: a cut-off benchmark has the most
# important comparisons first. Emoji epochs are set so the rows of the group train
# for about the same time on this CPU (the paper networks' step is ~2.4x faster).
ROWS = {
    "emoji32: default + augment": ("emoji32", (DCGAN, "--epochs=30", AUGMENT)),
    "emoji32: default": ("emoji32", (DCGAN, "--epochs=30")),
    "emoji64: default": ("emoji64", (DCGAN, "--epochs=10")),
    "emoji64: default + augment": ("emoji64", (DCGAN, "--epochs=10", AUGMENT)),
    "emoji64: pytorch preset": ("emoji64", ("--preset=pytorch", "--epochs=25")),
    "mnist1000: default": ("mnist1000", ("--epochs=10",)),
    "mnist1000: default + augment": ("mnist1000", ("--epochs=10", AUGMENT)),
    "emoji64: pytorch preset + augment": ("emoji64", ("--preset=pytorch", "--epochs=25",
                                                      AUGMENT)),
    "mnist100: default": ("mnist100", ("--epochs=10",)),
    "mnist100: default + augment": ("mnist100", ("--epochs=10", AUGMENT)),
    # More levers at 64x64 (the table gives each row's time; the epochs aim at about
    # the time of the rows above).
    "emoji64: default + augment, transposed upsampling": (
        "emoji64", (DCGAN, "--epochs=20", "--upsample=transpose", AUGMENT)),
    "emoji64: default + augment, batch 64": ("emoji64", (DCGAN, "--epochs=10", "--batch_size=64",
                                                          AUGMENT)),
    "emoji64: default + augment, no generator average": (
        "emoji64", (DCGAN, "--epochs=10", "--ema_decay=0", AUGMENT)),
    "emoji64: pytorch preset + augment + average": ("emoji64", ("--preset=pytorch", "--epochs=25",
                                                                "--ema_decay=0.999", AUGMENT)),
    # Half the filters of both networks: about a quarter of the arithmetic per step, so
    # several times the steps in the same time.
    "emoji64: pytorch preset at 32 filters": ("emoji64", ("--preset=pytorch", "--epochs=80",
                                                        "--generator_filters=32",
                                                        "--discriminator_filters=32")),
    "emoji64: pytorch preset at 32 filters + augment": (
        "emoji64", ("--preset=pytorch", "--epochs=80", "--generator_filters=32",
                    "--discriminator_filters=32", AUGMENT)),
    # The colour preset told each image's category (its subfolder): every category is
    # drawn on request, so none can be missing from the samples.
    "emoji64: colour preset conditional": ("emoji64", ("--preset=colour", "--epochs=80",
                                                       "--conditional")),
}


def result_path(name, seed, suffix="json"):
    return os.path.join(RESULTS, slug(name), f"seed{seed}.{suffix}")


def mnist_subset(count, runs_dir):
    """An .npz of `count` bundled MNIST images (seed 0), repeated to MNIST_REPEATED_TO."""
    path = os.path.join(runs_dir, "data", f"mnist_{count}.npz")
    if not os.path.exists(path):
        from dcgan_tf import data, readers
        images = readers.read_idx_images(
            os.path.join(data.BUNDLED_MNIST_DIR, "t10k-images-idx3-ubyte.gz"))
        chosen = np.sort(np.random.default_rng(0).choice(len(images), count, replace=False))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temporary = f"{path}.{os.getpid()}.{threading.get_ident()}.npz"  # One per writer.
        np.savez(temporary, x_train=np.tile(images[chosen], (MNIST_REPEATED_TO // count, 1, 1, 1)))
        os.replace(temporary, path)
    return path


def data_flags(group, runs_dir, emoji_dir):
    if group.startswith("emoji"):
        return ["--dataset=folder", f"--data_dir={emoji_dir}", f"--image_size={group[5:]}"]
    return ["--dataset=mnist", f"--data_dir={mnist_subset(int(group[5:]), runs_dir)}"]


def train(name, seed, runs_dir, core, emoji_dir):
    """Trains one row and seed (resuming an interrupted attempt); writes its JSON."""
    group, flags = ROWS[name]
    workdir = os.path.join(runs_dir, slug(name), f"seed{seed}")
    os.makedirs(workdir, exist_ok=True)
    command = [sys.executable, os.path.join(REPO, "train.py"), "--nodownload",
               f"--workdir={workdir}", f"--seed={seed}", *data_flags(group, runs_dir, emoji_dir),
               *flags]
    status, seconds = timed_run(command, workdir, core)
    if status:
        raise RuntimeError(f"{name} seed {seed}: train.py exited with {status}; see "
                           f"{workdir}/benchmark.log")
    info = json.load(open(os.path.join(workdir, "config.json")))
    frames = sorted(os.listdir(os.path.join(workdir, "samples")))
    result = dict(
        name=name, group=group, seed=seed, flags=list(flags),
        command=shlex.join(["python", "train.py", *command[2:]]).replace(
            workdir, "WORKDIR").replace(REPO + os.sep, ""),
        train_seconds=round(seconds, 1),
        cores="1 of 2 (two runs at once)" if core is not None else "all",
        cpu=cpu_name(), date=time.strftime("%Y-%m-%d"), config=info,
        steps=int(open(os.path.join(workdir, "losses.csv")).read().count("\n") - 1),
        metrics=None)
    os.makedirs(os.path.dirname(result_path(name, seed)), exist_ok=True)
    with open(os.path.join(workdir, "samples", frames[-1]), "rb") as f, \
            open(result_path(name, seed, "png"), "wb") as out:
        out.write(f.read())
    write_json(result_path(name, seed), result)
    return result


def measure(name, seed, runs_dir, core, emoji_dir):
    """Measures a trained row with evaluate.py; adds the metrics to its JSON."""
    group, _ = ROWS[name]
    workdir = os.path.join(runs_dir, slug(name), f"seed{seed}")
    out = os.path.join(workdir, "evaluation.json")
    command = [sys.executable, os.path.join(REPO, "evaluate.py"), f"--model={workdir}/generator",
               f"--out={out}"]
    if group.startswith("emoji"):
        # As many samples as the reference half (the odd-numbered files) holds, so that
        # samples, the floor and the other artwork are measured at the same counts.
        from dcgan_tf import readers
        command += [f"--data_dir={emoji_dir}",
                    f"--num={len(readers.list_image_files(emoji_dir)) // 2}"]
    else:
        command.append(f"--num={EVAL_SAMPLES}")
    with open(os.path.join(workdir, "benchmark.log"), "a") as log:
        subprocess.run(pinned(core) + command, check=True, stdout=log, stderr=subprocess.STDOUT)
    record = json.load(open(out))
    result = json.load(open(result_path(name, seed)))
    result["metrics"] = record["generated"]
    result["floor"] = record["real_vs_real_floor"]
    result["feature_net"] = record.get("feature_net")
    write_json(result_path(name, seed), result)
    return result


def measure_other_artwork(group, emoji_dir, other_dir):
    """The folder measure of the same emoji drawn by another designer (Facebook's
    against Twitter's): how far apart two real artworks of one set are."""
    out = os.path.join(RESULTS, "reference", f"{group}_facebook.json")
    if os.path.exists(out) or not os.path.isdir(other_dir):
        return
    from dcgan_tf import readers
    os.makedirs(os.path.dirname(out), exist_ok=True)
    subprocess.run([sys.executable, os.path.join(REPO, "evaluate.py"), f"--images={other_dir}",
                    "--dataset=folder", f"--data_dir={emoji_dir}", f"--image_size={group[5:]}",
                    f"--num={len(readers.list_image_files(emoji_dir)) // 2}", f"--out={out}"],
                   check=True, stdout=subprocess.DEVNULL)
    record = json.load(open(out))
    record["command"] = (f"python evaluate.py --images=data/emoji/facebook --dataset=folder "
                         f"--data_dir=data/emoji/twitter --image_size={group[5:]} "
                         f"--num={record['generated']['frechet']['num_samples']}")
    for key in ("images", "data_dir"):
        record[key] = os.path.relpath(record[key], REPO)
    write_json(out, record)


def run_all(stage, names, seeds, cores, runs_dir, emoji_dir):
    def due(item):
        name, seed = item
        if stage == "train":
            return not os.path.exists(result_path(name, seed))
        return (os.path.exists(result_path(name, seed))
                and json.load(open(result_path(name, seed)))["metrics"] is None)

    def work(item, core):
        (train if stage == "train" else measure)(*item, runs_dir, core, emoji_dir)
        return f"{stage} {item[0]} seed {item[1]}"

    todo = [(name, seed) for seed in seeds for name in names if due((name, seed))]
    print(f"{len(todo)} runs to {stage}; results in {RESULTS}", flush=True)
    run_queue(todo, cores, lambda item: os.path.join(
        runs_dir, "locks", f"{stage}_{slug(item[0])}_seed{item[1]}.lock"), due, work)


def define_flags():
    """The command line (absl, as every tool of the package; see dcgan_tf.cli)."""
    flags.DEFINE_string("seeds", "0,1", "Comma-separated seeds.")
    flags.DEFINE_string("only", "", "Comma-separated row names (default: all).")
    flags.DEFINE_string("cores", "0,1", "Cores to pin trainings to; '' = one at a time, "
                        "unpinned.")
    flags.DEFINE_string("runs_dir", os.path.join(REPO, "benchmarks", "runs", "small_data"),
                        "Where the run directories go (not committed).")
    flags.DEFINE_string("emoji_dir", EMOJI_DIR, "The twitter emoji folder "
                        "(scripts/get_emoji.py --set=twitter).")
    flags.DEFINE_string("other_dir", OTHER_ARTWORK_DIR, "The facebook emoji folder "
                        "(scripts/get_emoji.py --set=facebook), for the other-artwork row.")
    flags.DEFINE_bool("measure", False, "Measure the trained runs.")
    flags.DEFINE_bool("report", False, "Tables and grids from the stored results.")
    flags.DEFINE_bool("list", False, "List the rows.")


def main():
    args = flags.FLAGS
    if args.list:
        for name, (group, row_flags) in ROWS.items():
            print(f"{name}: {' '.join(row_flags)}")
        return
    if args.report:
        from dcgan_tf.doc_blocks import fill_block
        from small_data_report import augment_figure, readme_summary, report
        if os.path.isdir(args.emoji_dir):
            augment_figure(args.emoji_dir, os.path.join(FIGURES, "augment_examples.png"))
        text = report(RESULTS, FIGURES, ROWS)
        fill_block(os.path.join(REPO, "docs", "results.md"), "tables", text, "small_data.py")
        fill_block(os.path.join(REPO, "README.md"), "own images",
                   readme_summary(RESULTS, FIGURES, ROWS), "small_data.py")
        print(text)
        return
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(ROWS)
    unknown = [n for n in names if n not in ROWS]
    if unknown:
        raise InputError(f"--only: unknown rows {unknown}; see --list")
    if any(ROWS[n][0].startswith("emoji") for n in names) and not os.path.isdir(args.emoji_dir):
        raise InputError(f"--emoji_dir={args.emoji_dir}: no such folder; run "
                         "scripts/get_emoji.py --set=twitter --out=<it> first")
    cores = [int(c) for c in args.cores.split(",") if c.strip()]
    if args.measure:
        for group in sorted({ROWS[n][0] for n in names if ROWS[n][0].startswith("emoji")}):
            measure_other_artwork(group, args.emoji_dir, args.other_dir)
    run_all("measure" if args.measure else "train", names,
            [int(s) for s in args.seeds.split(",")], cores, args.runs_dir, args.emoji_dir)


if __name__ == "__main__":
    define_flags()
    cli.run(main, flags.FLAGS)
