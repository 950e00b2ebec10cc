"""How long the README's first command takes, and what it gives, on this machine.

    python benchmarks/first_run.py            # trains and measures what is missing
    python benchmarks/first_run.py --report   # fills README.md's block from the results

Each case is the README's command with default flags, run unpinned on every core
of the machine (run it on an idle machine: nothing else should train meanwhile),
timed from start to exit (start-up and the export included), then measured by
`evaluate.py` at 10,000 samples:

  bundled:  `python train.py --dataset=mnist` on the 10,000-image sample bundled
            with the package (what runs without internet);
  60k:      the same defaults on a 60,000-image training split. Keras downloads
            MNIST's; offline, Fashion-MNIST's from Debian's dataset-fashion-mnist
            package stands in for it (same size and format), measured by the
            Fashion-MNIST classifier.

Each finished case leaves benchmarks/results/first_run/<case>.json and is not run
again (delete the file to measure it again).
"""

import json
import os
import shlex
import subprocess
import sys
import time

from absl import flags

from dcgan_tf import cli
from dcgan_tf.devices import cpu_name
from dcgan_tf.doc_blocks import fill_block
from dcgan_tf.errors import InputError
from quality import REPO  # Beside this file.
from runner import timed_run, write_json

RESULTS = os.path.join(REPO, "benchmarks", "results", "first_run")
EVAL_SAMPLES = 10000
# case -> (the train.py flags after the README's, what the case stands for)
CASES = {
    "bundled": (("--dataset=mnist", "--nodownload"),
                "the bundled 10,000-image MNIST sample (offline)"),
    "60k": (("--dataset=fashion_mnist", "--nodownload"),
            "a 60,000-image training split (Fashion-MNIST's, standing in for MNIST's)"),
}

def result_path(case):
    return os.path.join(RESULTS, f"{case}.json")


def run_case(case, runs_dir):
    workdir = os.path.join(runs_dir, case)
    if os.path.exists(workdir) and not os.path.exists(
            os.path.join(workdir, "benchmark_seconds.txt")):
        raise InputError(f"{workdir} exists and is not this benchmark's; remove it.")
    os.makedirs(workdir, exist_ok=True)
    train_flags, _ = CASES[case]
    command = [sys.executable, os.path.join(REPO, "train.py"), *train_flags,
               f"--workdir={workdir}"]
    seconds_file = os.path.join(workdir, "benchmark_seconds.txt")
    if os.path.isdir(os.path.join(workdir, "generator")) and os.path.exists(seconds_file):
        status, seconds = 0, float(open(seconds_file).read())  # Trained; measure only.
    else:
        status, seconds = timed_run(command, workdir)
    if status:
        raise RuntimeError(f"{case}: train.py exited with {status}; see {workdir}/benchmark.log")
    out = os.path.join(workdir, "evaluation.json")
    subprocess.run([sys.executable, os.path.join(REPO, "evaluate.py"),
                    f"--model={workdir}/generator", f"--num={EVAL_SAMPLES}", f"--out={out}"],
                   check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(workdir, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    with open(os.path.join(workdir, "run_info.json"), encoding="utf-8") as f:
        attempts = json.load(f)["attempts"]
    with open(out, encoding="utf-8") as f:
        measured = json.load(f)
    result = dict(
        case=case, command=shlex.join(["python", "train.py", *train_flags]),
        seconds=round(seconds, 1), steps=attempts[-1]["step"], images=attempts[-1]["images"],
        epochs=config["epochs"], batch_size=config["batch_size"],
        precision=attempts[-1]["precision"], cpu=cpu_name(), date=time.strftime("%Y-%m-%d"),
        load_average_after=round(os.getloadavg()[0], 1),
        metrics=measured["generated"], floor=measured["real_vs_real_floor"])
    os.makedirs(RESULTS, exist_ok=True)
    write_json(result_path(case), result)
    return result


def readme_text(results_dir=RESULTS):
    """The README's lines: each measured case's command, steps, time and quality."""
    lines = []
    for case, (_, meaning) in CASES.items():
        path = os.path.join(results_dir, f"{case}.json")
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as f:
            r = json.load(f)
        minutes, seconds = divmod(round(r["seconds"]), 60)
        m, floor = r["metrics"], r["floor"]
        steps_per_epoch = r["images"] // r["batch_size"]
        lines.append(
            f"- **{meaning}**: `{r['command']}` trained {r['steps'] // steps_per_epoch} epochs of "
            f"{steps_per_epoch:,} steps, **{r['steps']:,} steps** at batch "
            f"{r['batch_size']} in {r['precision']}, in **{minutes} min {seconds:02d} s** from "
            f"start to exported generator on {r['cpu']}, idle ({r['date']}). `evaluate.py` "
            f"gave its generator a Fréchet distance of {m['frechet']['value']:.1f} (real-vs-real "
            f"floor {floor['frechet']['value']:.1f}), recall {m['precision_recall']['recall']:.2f}"
            f", {m['coverage']['classes_covered']} of {m['coverage']['num_classes']} classes.")
    return "\n".join(lines) + "\n"


def define_flags():
    """The command line (absl, as every tool of the package; see dcgan_tf.cli)."""
    flags.DEFINE_list("cases", list(CASES), "Cases to run, of: " + ", ".join(CASES))
    flags.DEFINE_string("runs_dir", os.path.join(REPO, "benchmarks", "runs", "first_run"),
                        "Where the run directories go (not committed).")
    flags.DEFINE_bool("report", False, "Fill README.md's block from the stored results.")


def main():
    args = flags.FLAGS
    if args.report:
        fill_block(os.path.join(REPO, "README.md"), "first run", readme_text(), "first_run.py")
        print(readme_text())
        return
    unknown = sorted(set(args.cases) - set(CASES))
    if unknown:
        raise InputError(f"--cases: unknown {unknown}; choose from {list(CASES)}")
    for case in args.cases:
        if os.path.exists(result_path(case)):
            print(f"{case}: already measured ({result_path(case)})")
            continue
        print(f"{case}: {run_case(case, args.runs_dir)['seconds'] / 60:.1f} min", flush=True)


if __name__ == "__main__":
    define_flags()
    cli.run(main, flags.FLAGS)
