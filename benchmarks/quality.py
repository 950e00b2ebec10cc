"""Time to quality: which settings give the best samples per minute of training.

    python benchmarks/quality.py --epochs=10 --seeds=0,1,2            # trains, resumable
    python benchmarks/quality.py --epochs=50 --seeds=0,1 --only=default,tutorial
    python benchmarks/quality.py --report                             # tables and grids

Every run is a real `train.py` command on the bundled 10,000-image MNIST sample
(the command is stored with its result), measured afterwards by `evaluate.py`
at 10,000 samples; `--eval_every` records the curve along the way at 2,000
samples. Each finished run leaves a small JSON (metrics, curve, wall time,
command) and its final fixed-noise frame under benchmarks/results/quality/, and
is never run again: stop the benchmark at any point, start it again, and it goes
on with what is missing (an interrupted training resumes from its checkpoint,
and the time of every attempt is added up).

By default two trainings run at once, each pinned to one core with `taskset`
(`--cores=0,1`; two benchmarks can share a machine with `--cores=0` and `--cores=1`).
On a 2-core AMD EPYC VM at batch 64, one training on both cores ran 8.0 steps/s
and two pinned trainings 4.75 steps/s each, 9.5 in all: 1.19x the throughput.
The wall times in the table are those of the pinned runs, so a user's single
run on both cores is faster than the table's time.

`--report` turns every stored result into markdown tables (mean and spread of
each metric over seeds per configuration and budget) and writes one picture per
configuration into docs/figures/quality/: the final frame of each seed side by
side.
"""

import csv
import dataclasses
import json
import os
import shlex
import shutil
import subprocess
import sys
import time

import numpy as np
from quality_report import (conditional_report, conditional_summary,  # Beside this file.
                            defaults_summary, report, slug)
from runner import pinned, run_queue, timed_run, write_json

from absl import flags

# NumPy only: no TensorFlow in this process.
from dcgan_tf import cli, config_flags, run_dir, spectrum
from dcgan_tf.errors import InputError
from dcgan_tf.devices import cpu_name
from dcgan_tf.doc_blocks import fill_block

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

RESULTS = os.path.join(REPO, "benchmarks", "results", "quality")
FIGURES = os.path.join(REPO, "docs", "figures", "quality")
EVAL_SAMPLES = 10000
SCREEN_EPOCHS = 10  # The budget every configuration is screened at.
CURVE_SAMPLES = 2000

# Batch size first (then without the generator average), then the lever screen:
# every lever alone on top of `SCREEN_BASE`, the default flags of that time
# (Conv2DTranspose upsampling). Every setting a default has since changed is
# spelled out, so that a stored result keeps its meaning when a default changes
# (tests/test_quality_report.py checks each stored run's settings against these
# flags). Order is priority: a cut-off benchmark has the most important
# comparisons first.
NO_AVERAGE = ("--ema_decay=0", "--upsample=transpose", "--dropout_rate=0.3",
              "--precision=float32")
SCREEN_BASE = ("--batch_size=32", "--ema_decay=0.999", "--upsample=transpose",
               "--dropout_rate=0.3", "--precision=float32")


def on(base, *flags):
    """`base` with `flags` added, each replacing base's flag of the same name."""
    names = {flag.split("=")[0] for flag in flags}
    return tuple(f for f in base if f.split("=")[0] not in names) + flags


# Today's defaults on a CPU with AMX or AVX512-BF16 (--precision=auto picks bfloat16 there;
# elsewhere the defaults are the row without it).
DEFAULT_NAME = "+ resize upsampling + dropout 0.1 + bfloat16"
CONFIGURATIONS = {
    "base (batch 64)": ("--batch_size=64",) + NO_AVERAGE,
    "tutorial": ("--preset=tutorial",),
    "batch 256": ("--batch_size=256",) + NO_AVERAGE,
    "batch 32": ("--batch_size=32",) + NO_AVERAGE,
    "batch 128": ("--batch_size=128",) + NO_AVERAGE,
    "batch 32 + ema 0.999": SCREEN_BASE,
    "+ two time-scales G 1e-4 D 4e-4": on(SCREEN_BASE, "--learning_rate=1e-4",
                                          "--discriminator_learning_rate=4e-4"),
    "+ dropout 0": on(SCREEN_BASE, "--dropout_rate=0"),
    "+ dropout 0.1": on(SCREEN_BASE, "--dropout_rate=0.1"),
    "+ kernel 4": on(SCREEN_BASE, "--kernel_size=4"),
    "+ resize upsampling": on(SCREEN_BASE, "--upsample=resize"),
    "+ resize upsampling + dropout 0.1": on(SCREEN_BASE, "--upsample=resize",
                                            "--dropout_rate=0.1"),
    "+ paper architecture": on(SCREEN_BASE, "--architecture=dcgan_paper"),
    "+ label smoothing 0.1": on(SCREEN_BASE, "--label_smoothing=0.1"),
    "+ least squares loss": on(SCREEN_BASE, "--loss=least_squares"),
    "+ hinge loss": on(SCREEN_BASE, "--loss=hinge"),
    "+ beta_1 0.9": on(SCREEN_BASE, "--beta_1=0.9"),
    "+ Glorot init": on(SCREEN_BASE, "--init_stddev=0"),
    "+ LeakyReLU 0.3": on(SCREEN_BASE, "--leaky_relu_slope=0.3"),
    "+ dropout 0.5": on(SCREEN_BASE, "--dropout_rate=0.5"),
    "+ batch 16": on(SCREEN_BASE, "--batch_size=16"),
    "pytorch preset": ("--preset=pytorch",),
    # Fashion-MNIST (the full 60,000 from Debian's dataset-fashion-mnist), run at 5 epochs:
    # where the transposed convolution's stripes showed.
    "fashion: tutorial": ("--dataset=fashion_mnist", "--preset=tutorial"),
    "fashion: + resize upsampling": ("--dataset=fashion_mnist",) + on(
        SCREEN_BASE, "--upsample=resize"),
    "fashion: + resize upsampling + dropout 0.1": ("--dataset=fashion_mnist",) + on(
        SCREEN_BASE, "--upsample=resize", "--dropout_rate=0.1"),
    "fashion: batch 32 + ema 0.999": ("--dataset=fashion_mnist",) + SCREEN_BASE,
    # The defaults in bfloat16 through oneDNN (AMX on Xeons that have it), no XLA:
    # faster per step on such CPUs (docs/performance.md); a default only if it keeps
    # the quality at the same seeds and budgets.
    "+ resize upsampling + dropout 0.1 + bfloat16": on(
        SCREEN_BASE, "--upsample=resize", "--dropout_rate=0.1", "--precision=mixed_bfloat16",
        "--nojit_compile"),
    # The defaults with both learning rates falling linearly to 0 at the last step.
    "+ resize upsampling + dropout 0.1 + linear lr decay": on(
        SCREEN_BASE, "--upsample=resize", "--dropout_rate=0.1", "--lr_decay=linear"),
    # Both: the fastest candidate for a shorter run (fewer epochs, in bfloat16, with
    # the learning rates falling to 0 at its end).
    "+ resize upsampling + dropout 0.1 + bfloat16 + linear lr decay": on(
        SCREEN_BASE, "--upsample=resize", "--dropout_rate=0.1", "--precision=mixed_bfloat16",
        "--nojit_compile", "--lr_decay=linear"),
    # Class-conditional (docs/conditional.md): the two ways D sees the label, on the
    # default flags of their time.
    "conditional: projection": ("--conditional", "--conditioning=projection",
                                "--precision=float32"),
    "conditional: concat": ("--conditional", "--conditioning=concat", "--precision=float32"),
    "fashion: conditional projection": ("--dataset=fashion_mnist", "--conditional",
                                        "--conditioning=projection", "--precision=float32"),
    "fashion: conditional concat": ("--dataset=fashion_mnist", "--conditional",
                                    "--conditioning=concat", "--precision=float32"),
}
# The README's table of the defaults: (label, configuration), the defaults first.
README_ROWS = (
    ("the defaults (resize-convolution, Dropout 0.1, batch 32, the generator average), in "
     "bfloat16 as `--precision=auto` picks on CPUs with AMX", DEFAULT_NAME),
    ("the same in float32 (the default on other CPUs)", "+ resize upsampling + dropout 0.1"),
    ("the same with Conv2DTranspose (`--upsample=transpose --dropout_rate=0.3`)",
     "batch 32 + ema 0.999"),
    ("`--preset=tutorial` (batch 256, Adam 1e-4, beta_1 0.9, Glorot init)", "tutorial"),
)
METRICS = (  # (heading, key in the result's "metrics", format, lower is better)
    ("Fréchet ↓", "frechet", "{:.1f}"),
    ("KID ↓", "kid", "{:.3f}"),
    ("precision ↑", "precision", "{:.2f}"),
    ("recall ↑", "recall", "{:.2f}"),
    ("classes ≥2% ↑", "classes_covered", "{:.0f}"),
    ("class consistency ↑", "consistency", "{:.3f}"),  # Conditional runs only.
    ("worst class ↑", "worst_class_consistency", "{:.3f}"),
)


def result_path(name, epochs, seed, suffix="json"):
    return os.path.join(RESULTS, f"e{epochs}", slug(name), f"seed{seed}.{suffix}")


def train_command(name, epochs, seed, workdir):
    return [sys.executable, os.path.join(REPO, "train.py"), "--dataset=mnist", "--nodownload",
            f"--workdir={workdir}", f"--epochs={epochs}", f"--seed={seed}",
            f"--eval_every={max(1, epochs // 5)}", f"--eval_samples={CURVE_SAMPLES}",
            *CONFIGURATIONS[name]]


def resolved_settings(flag_list):
    """The settings (Config fields, as config.json stores them) that train.py
    resolves from these '--name=value' flags, its defaults filling the rest."""
    specs = {spec.name: spec for spec in config_flags.flag_specs()}
    preset, values = "dcgan", {}
    for flag in flag_list:
        name, _, text = flag.removeprefix("--").partition("=")
        if name == "preset":
            preset = text
        elif name.startswith("no") and name[2:] in specs and not text:
            values[name[2:]] = False
        elif specs[name].kind == "bool":
            values[name] = text.lower() not in ("false", "0") if text else True
        else:
            values[name] = {"integer": int, "float": float}.get(specs[name].kind, str)(text)
    return dataclasses.asdict(config_flags.from_flag_values(preset, values))


def continues_exactly(name):
    """Whether a longer run of `name` can continue its screened run: not when a
    schedule spans the whole run (--lr_decay), whose steps depend on its length."""
    return not any(flag.startswith("--lr_decay=") and flag != "--lr_decay=none"
                   for flag in CONFIGURATIONS[name])


def run_one(name, epochs, seed, runs_dir, core):
    """Trains and measures one configuration and seed; writes its result files.

    A longer budget than the screen's trains and records the screen's budget
    first, then continues that run, so one run gives both results (not for rows
    whose schedule spans the run: see continues_exactly).
    """
    if (epochs > SCREEN_EPOCHS and continues_exactly(name)
            and not os.path.exists(result_path(name, SCREEN_EPOCHS, seed))):
        run_one(name, SCREEN_EPOCHS, seed, runs_dir, core)
    workdir = os.path.join(runs_dir, f"e{epochs}", slug(name), f"seed{seed}")
    shorter = os.path.join(runs_dir, f"e{SCREEN_EPOCHS}", slug(name), f"seed{seed}")
    continued = (epochs > SCREEN_EPOCHS and continues_exactly(name)
                 and not os.path.exists(workdir)
                 and os.path.exists(result_path(name, SCREEN_EPOCHS, seed))
                 and os.path.isdir(shorter))
    marker = os.path.join(workdir, "benchmark_continued_from.txt")
    if continued:
        # Resuming is exact (same losses as an unbroken run), so a longer budget
        # continues the screened run; its time file carries the first part's time.
        shutil.copytree(shorter, workdir)
        with open(marker, "w") as f:
            f.write(f"e{SCREEN_EPOCHS}")
    os.makedirs(workdir, exist_ok=True)
    continued = os.path.exists(marker)
    pin = pinned(core)
    command = train_command(name, epochs, seed, workdir)
    log = os.path.join(workdir, "benchmark.log")
    status, train_seconds = timed_run(command, workdir, core)
    if status:
        raise RuntimeError(f"{name} seed {seed}: train.py exited with {status}; see {log}")
    evaluation = os.path.join(workdir, "evaluation.json")
    subprocess.run(pin + [sys.executable, os.path.join(REPO, "evaluate.py"),
                          f"--model={workdir}/generator", f"--num={EVAL_SAMPLES}",
                          f"--out={evaluation}"], check=True, stdout=subprocess.DEVNULL,
                   stderr=open(log, "a"))
    record = json.load(open(evaluation))
    samples = os.path.join(workdir, "samples_1000.npy")
    subprocess.run(pin + [sys.executable, os.path.join(REPO, "generate.py"),
                          f"--model={workdir}/generator", "--num=1000", f"--out={samples}"],
                   check=True, stdout=subprocess.DEVNULL, stderr=open(log, "a"))
    frames = sorted(os.listdir(os.path.join(workdir, "samples")))
    attempts = run_dir.read_run_info(workdir)
    result = dict(
        name=name, epochs=epochs, seed=seed, flags=list(CONFIGURATIONS[name]),
        command=shlex.join(["python", "train.py", *command[2:]]).replace(workdir, "WORKDIR"),
        train_seconds=round(train_seconds, 1),
        cores="1 of 2 (two runs at once)" if core is not None else "all",
        continued_from=f"e{SCREEN_EPOCHS}" if continued else None,
        cpu=cpu_name(), date=time.strftime("%Y-%m-%d"),
        steps=_steps(workdir, attempts),
        config=json.load(open(os.path.join(workdir, "config.json"))),
        metrics=_flat(record["generated"]), floor=_flat(record["real_vs_real_floor"]),
        checkerboard=spectrum.checkerboard_ratio(np.load(samples)),
        xla=_xla(log, attempts),
        curve=list(csv.DictReader(open(os.path.join(workdir, "metrics.csv")))))
    os.makedirs(os.path.dirname(result_path(name, epochs, seed)), exist_ok=True)
    with open(os.path.join(workdir, "samples", frames[-1]), "rb") as f:
        frame = f.read()
    with open(result_path(name, epochs, seed, "png"), "wb") as f:
        f.write(frame)
    if "--conditional" in CONFIGURATIONS[name]:  # docs/conditional.md shows the first too.
        shutil.copyfile(os.path.join(workdir, "samples", frames[0]),
                        result_path(name, epochs, seed, "first.png"))
    write_json(result_path(name, epochs, seed), result)
    return result


def _xla(log, attempts):
    """Whether train.py compiled the step with XLA: True, False, or "partly" when
    the attempts of a resumed run differed. From run_info.json; for a run made
    before train.py wrote it, from the start line of each attempt in its log (a
    start line without the XLA setting is from when XLA was the default on CPUs: on)."""
    if attempts:
        seen = {attempt["xla"] for attempt in attempts}
    else:
        with open(log, encoding="utf-8", errors="replace") as f:
            seen = {line.split(", XLA ")[1].split(".")[0] == "on" if ", XLA " in line else True
                    for line in f if ". Dataset " in line and "Seed " in line}
    return seen.pop() if len(seen) == 1 else "partly"


def _flat(report):
    flat = dict(frechet=report["frechet"]["value"], kid=report["kernel"]["value"],
                precision=report["precision_recall"]["precision"],
                recall=report["precision_recall"]["recall"],
                class_kl=report["coverage"]["kl_divergence"],
                classes_covered=report["coverage"]["classes_covered"],
                class_fractions=report["coverage"]["histogram"])
    if report.get("consistency"):
        flat.update(consistency=report["consistency"]["accuracy"],
                    worst_class_consistency=min(report["consistency"]["per_class"]),
                    class_consistency=report["consistency"]["per_class"],
                    class_frechet=report["class_frechet"])
    return flat


def _steps(workdir, attempts):
    """The step the run ended at (run_info.json; for older runs, losses.csv's rows)."""
    if attempts:
        return attempts[-1]["step"]
    with open(os.path.join(workdir, "losses.csv")) as f:
        return sum(1 for _ in f) - 1


def pending(names, epochs, seeds):
    """(name, seed) pairs without a result, seed-major so that every
    configuration gets its first seed before any gets its third."""
    return [(name, seed) for seed in seeds for name in names
            if not os.path.exists(result_path(name, epochs, seed))]


def run_all(names, epochs, seeds, pinned_cores, runs_dir):
    todo = pending(names, epochs, seeds)
    print(f"{len(todo)} runs to do at {epochs} epochs; results in {RESULTS}", flush=True)

    def work(item, core):
        name, seed = item
        result = run_one(name, epochs, seed, runs_dir, core)
        return (f"{name} seed {seed}: Fréchet {result['metrics']['frechet']:.1f}, classes "
                f"{result['metrics']['classes_covered']}")

    run_queue(todo, pinned_cores, lambda item: os.path.join(
        runs_dir, "locks", f"e{epochs}_{slug(item[0])}_seed{item[1]}.lock"),
        lambda item: not os.path.exists(result_path(item[0], epochs, item[1])), work)


def define_flags():
    """The command line (absl, as every tool of the package; see dcgan_tf.cli)."""
    flags.DEFINE_integer("epochs", 10, "Epochs per run (10 or 50).")
    flags.DEFINE_string("seeds", "0,1,2", "Comma-separated seeds.")
    flags.DEFINE_string("only", "", "Comma-separated configuration names (default: all, in "
                        "priority order).")
    flags.DEFINE_string("cores", "0,1", "The cores to pin trainings to, one training per core "
                        "at a time; '' = one training at a time, unpinned.")
    flags.DEFINE_string("runs_dir", os.path.join(REPO, "benchmarks", "runs"),
                        "Where the run directories go (not committed).")
    flags.DEFINE_bool("report", False, "From the stored results: write the grids, fill the "
                      "tables of docs/results.md, docs/conditional.md and the README, and "
                      "print them.")
    flags.DEFINE_bool("list", False, "List the configurations.")


def main():
    args = flags.FLAGS
    if args.list:
        for name, row_flags in CONFIGURATIONS.items():
            print(f"{name}: {' '.join(row_flags) or '(no flags)'}")
        return
    if args.report:
        unconditional = {name: flags for name, flags in CONFIGURATIONS.items()
                         if "--conditional" not in flags}
        text = report(RESULTS, FIGURES, unconditional, METRICS[:-2], DEFAULT_NAME)
        fill_block(os.path.join(REPO, "docs", "results.md"), "tables", text)
        conditional = conditional_report(RESULTS, FIGURES, CONFIGURATIONS, METRICS,
                                         DEFAULT_NAME)
        fill_block(os.path.join(REPO, "docs", "conditional.md"), "tables", conditional)
        fill_block(os.path.join(REPO, "README.md"), "conditional",
                   conditional_summary(RESULTS, CONFIGURATIONS, DEFAULT_NAME))
        fill_block(os.path.join(REPO, "README.md"), "defaults",
                   defaults_summary(RESULTS, README_ROWS))
        print(text + "\n" + conditional)
        return
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(CONFIGURATIONS)
    unknown = [n for n in names if n not in CONFIGURATIONS]
    if unknown:
        raise InputError(f"--only: unknown configurations {unknown}; see --list")
    cores = [int(c) for c in args.cores.split(",") if c.strip()]
    run_all(names, args.epochs, [int(s) for s in args.seeds.split(",")], cores, args.runs_dir)


if __name__ == "__main__":
    define_flags()
    cli.run(main, flags.FLAGS)
