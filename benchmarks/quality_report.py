"""The tables and pictures of `benchmarks/quality.py --report`, from its stored results."""

import glob
import json
import os
import statistics

import matplotlib
import numpy as np
from PIL import Image

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the file-only backend)


def load_results(results_dir):
    """{(epochs, name): [result dicts, by seed]} for every stored run."""
    grouped = {}
    for path in glob.glob(os.path.join(results_dir, "e*", "*", "seed*.json")):
        with open(path, encoding="utf-8") as f:
            result = json.load(f)
        grouped.setdefault((result["epochs"], result["name"]), []).append(result)
    for runs in grouped.values():
        runs.sort(key=lambda r: r["seed"])
    return grouped


def cell(values, fmt):
    """'mean ± sd (v1, v2, ...)', or the one value."""
    shown = ", ".join(fmt.format(v) for v in values)
    if len(values) == 1:
        return shown
    return (f"{fmt.format(statistics.mean(values))} ± {fmt.format(statistics.stdev(values))} "
            f"({shown})")


def table(grouped, epochs, configurations, metrics, default_name=None):
    """One budget's markdown table: a row per configuration (its flags as
    `configurations` spells them today), best mean Fréchet distance first."""
    heading = ["configuration", "flags", "seeds", *(m[0] for m in metrics), "min classes",
               "checkerboard", "train min/run", "XLA", "steps"]
    lines = ["| " + " | ".join(heading) + " |", "|" + " --- |" * len(heading)]
    rows = [(name, grouped[(epochs, name)]) for name in configurations
            if (epochs, name) in grouped]
    rows.sort(key=lambda row: statistics.mean(r["metrics"]["frechet"] for r in row[1]))
    for name, runs in rows:
        values = [cell([r["metrics"][key] for r in runs], fmt)
                  if all(key in r["metrics"] for r in runs) else "n/a"
                  for _, key, fmt in metrics]
        minutes = statistics.mean(r["train_seconds"] for r in runs) / 60
        flags = " ".join(configurations[name]) or "(none)"
        checker = [r["checkerboard"] for r in runs if "checkerboard" in r]
        lines.append(
            f"| {name}{' (the default)' if _is_default(name, default_name) else ''} | `{flags}` | {', '.join(str(r['seed']) for r in runs)} | "
            + " | ".join(values)
            + f" | {min(r['metrics']['classes_covered'] for r in runs)} | "
            f"{cell(checker, '{:.1f}') if checker else 'n/a'} | {minutes:.1f} | "
            f"{_xla(runs)} | {runs[0]['steps']} |")
    floor = rows[0][1][0]["floor"]  # Every row of a table is on the same data.
    lines.append("| real vs real (floor) | | | " + " | ".join(
        fmt.format(floor[key]) if key in floor else "" for _, key, fmt in metrics)
        + f" | {floor['classes_covered']} | | | | |")
    return "\n".join(lines)


def _is_default(name, default_name):
    """The default's row, also on another dataset ('fashion: <default_name>')."""
    return default_name is not None and name.split(": ", 1)[-1] == default_name


def _xla(runs):
    """How the runs' steps were compiled: 'on', 'off', or 'mixed' (seeds, or the
    attempts of a resumed run, differed)."""
    seen = {r.get("xla") for r in runs}
    return {frozenset({True}): "on", frozenset({False}): "off"}.get(frozenset(seen), "mixed")


def seed_strip(runs, results_dir, gap=6):
    """The final frames of each seed's run side by side, uint8 [H, W]."""
    return frame_strip([os.path.join(results_dir, f"e{run['epochs']}", slug(run["name"]),
                                     f"seed{run['seed']}.png") for run in runs], gap, "L")


def frame_strip(paths, gap=6, mode="L", shrink=2):
    """The frames at `paths`, made `shrink` times smaller (a run enlarges small
    images in its frames), side by side on white: uint8 [H, W] for mode 'L',
    [H, W, 3] for 'RGB'."""
    frames = []
    for path in paths:
        with Image.open(path) as frame:
            frames.append(np.asarray(frame.convert(mode).resize(
                (frame.width // shrink, frame.height // shrink), Image.LANCZOS)))
    height = max(f.shape[0] for f in frames)
    channels = ((0, 0),) if mode == "RGB" else ()
    pieces = [np.pad(frame, ((0, height - frame.shape[0]), (0, gap)) + channels,
                     constant_values=255) for frame in frames]
    return np.concatenate(pieces, axis=1)[:, :-gap]


def report(results_dir, figures_dir, configurations, metrics, default_name=None):
    """Markdown tables per budget, and one picture per configuration and budget.

    Args:
        configurations: name -> flags, in priority order; stored results of other
            names are left out.
        default_name: the configuration that is today's defaults, marked so.
    """
    grouped = load_results(results_dir)
    os.makedirs(figures_dir, exist_ok=True)
    parts = []
    for epochs in sorted({e for e, _ in grouped}):
        names = [n for n in configurations if (epochs, n) in grouped]
        text = table(grouped, epochs, configurations, metrics, default_name)
        parts.append(f"### {epochs} epochs\n\n{text}\n")
        parts.append(f"Final fixed-noise frames at {epochs} epochs, one grid per seed (left to "
                     "right: the seeds of the table):\n")
        for name in names:
            strip = seed_strip(grouped[(epochs, name)], results_dir)
            out = os.path.join(figures_dir, f"e{epochs}_{slug(name)}.png")
            Image.fromarray(strip).save(out, optimize=True)
            link = os.path.relpath(out, os.path.dirname(os.path.dirname(figures_dir)))
            parts.append(f"**{name}**\n\n![{name}, {epochs} epochs]({link})\n")
    longest = max(e for e, _ in grouped)
    contenders = [n for n in configurations if (longest, n) in grouped
                  and all(run.get("curve") for run in grouped[(longest, n)])]
    if contenders:
        out = os.path.join(figures_dir, "curves.png")
        curves_figure(grouped, contenders, out)
        link = os.path.relpath(out, os.path.dirname(os.path.dirname(figures_dir)))
        parts.append(f"### Quality against training time\n\nThe configurations run for "
                     f"{longest} epochs, each seed's curve from its `--eval_every` "
                     "measurements (2,000 samples), placed in time as its share of the run's "
                     f"wall time:\n\n![Fréchet distance against minutes of training]({link})\n")
    return "\n".join(parts)


def conditional_report(results_dir, figures_dir, configurations, metrics, default_name,
                       shown="conditional: projection"):
    """docs/conditional.md's tables and pictures: every conditional row beside the
    unconditional default at each budget; `shown`'s class consistency per class;
    its frames after the first epoch, 10 and 50 epochs; consistency over training."""
    grouped = load_results(results_dir)
    os.makedirs(figures_dir, exist_ok=True)
    conditional = [n for n, flags in configurations.items() if "--conditional" in flags]
    parts = []
    for epochs in sorted({e for e, n in grouped if n in conditional}):
        names = [n for n in conditional if (epochs, n) in grouped]
        datasets = {n.split(": ")[0] if ": " in n and not n.startswith("conditional")
                    else "" for n in names}
        compared = [f"{d}: {default_name}" if d else default_name for d in datasets]
        rows = {n: configurations[n] for n in compared + names if (epochs, n) in grouped}
        ceilings = "; ".join(f"{label} {classifier_accuracy(dataset):.3f}"
                             for label, dataset in (CLASSIFIED[d] for d in sorted(datasets)))
        parts.append(f"### {epochs} epochs\n\n"
                     + table(grouped, epochs, rows, metrics, default_name) + "\n\n"
                     f"Class consistency of real test images, the classifier's own accuracy "
                     f"(its record in dcgan_tf/assets/classifiers/): {ceilings}.\n")
    runs = grouped.get((10, shown), [])
    if runs:
        lines = ["| class | " + " | ".join(str(k) for k in range(10)) + " |",
                 "|" + " --- |" * 11]
        for heading, key, fmt in (("consistency", "class_consistency", "{:.3f}"),
                                  ("Fréchet distance", "class_frechet", "{:.1f}")):
            columns = list(zip(*(r["metrics"][key] for r in runs)))
            lines.append(f"| {heading} | " + " | ".join(
                fmt.format(statistics.mean(c)) if None not in c else "n/a" for c in columns)
                + " |")
        parts.append(f"Per class, `{shown}` at 10 epochs (mean over seeds "
                     f"{', '.join(str(r['seed']) for r in runs)}; each class's Fréchet distance "
                     "compares its 1,000 samples with the real test images of that class):\n\n"
                     + "\n".join(lines) + "\n")
    frames = [(label, os.path.join(results_dir, f"e{epochs}", slug(shown), f"seed0.{suffix}"))
              for label, epochs, suffix in (("1 epoch", 10, "first.png"),
                                            ("10 epochs", 10, "png"), ("50 epochs", 50, "png"))]
    frames = [(label, path) for label, path in frames if os.path.exists(path)]
    if frames:
        out = os.path.join(figures_dir, "conditional_epochs.png")
        Image.fromarray(frame_strip([path for _, path in frames], gap=12)).save(out,
                                                                                optimize=True)
        link = os.path.relpath(out, os.path.dirname(os.path.dirname(figures_dir)))
        parts.append(f"Seed 0 of `{shown}`, left to right after "
                     f"{', '.join(label for label, _ in frames)}: class k in row k, one fixed "
                     f"noise vector per column:\n\n![{shown} over training]({link})\n")
    curved = [n for n in conditional if any((e, n) in grouped for e in (10, 50))]
    if curved:
        out = os.path.join(figures_dir, "conditional_consistency.png")
        consistency_figure(grouped, curved, out)
        link = os.path.relpath(out, os.path.dirname(os.path.dirname(figures_dir)))
        parts.append("Class consistency over training, each seed's `--eval_every` curve "
                     f"(2,000 samples, 200 per class):\n\n![class consistency]({link})\n")
    return "\n".join(parts)


# A row's dataset prefix ("" = the MNIST sample) -> (its name, its classifier's dataset).
CLASSIFIED = {"": ("MNIST", "mnist"), "fashion": ("Fashion-MNIST", "fashion_mnist")}


def classifier_accuracy(dataset):
    """The shipped classifier's accuracy on its real test images, from its record."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "dcgan_tf", "assets", "classifiers", f"{dataset}.json")
    with open(path, encoding="utf-8") as f:
        return json.load(f)["test_accuracy"]


def conditional_summary(results_dir, configurations, default_name):
    """The README's lines: per conditional row and budget, consistency (mean and the
    lowest seed), the worst class over seeds, and the Fréchet distance beside the
    unconditional default's at that budget."""
    grouped = load_results(results_dir)
    lines = []
    for (epochs, name), runs in sorted(grouped.items()):
        if "--conditional" not in configurations.get(name, ()):
            continue
        dataset = "Fashion-MNIST" if name.startswith("fashion") else "MNIST sample"
        default = f"fashion: {default_name}" if name.startswith("fashion") else default_name
        plain = grouped.get((epochs, default), [])
        consistency = [r["metrics"]["consistency"] for r in runs]
        real = classifier_accuracy(CLASSIFIED["fashion" if name.startswith("fashion") else ""][1])
        frechet = [r["metrics"]["frechet"] for r in runs]
        lines.append(
            f"- `{' '.join(configurations[name])}`, {dataset}, {epochs} epochs, "
            f"seed{'s' if len(runs) > 1 else ''} {', '.join(str(r['seed']) for r in runs)}: "
            f"class consistency {statistics.mean(consistency):.1%} (real test images: "
            f"{real:.1%}; lowest seed {min(consistency):.1%}; worst "
            f"class {min(r['metrics']['worst_class_consistency'] for r in runs):.1%}), "
            f"Fréchet distance {statistics.mean(frechet):.1f}"
            + (f" (unconditional defaults: "
               f"{statistics.mean(r['metrics']['frechet'] for r in plain):.1f})" if plain else "")
            + ".")
    return "\n".join(lines)


def defaults_summary(results_dir, rows, budgets=(10, 50)):
    """The README's table of the defaults beside the rows they beat: per row and
    budget, the mean Fréchet distance (bold for the first row) with each seed's,
    and the train minutes per run.

    Args:
        rows: (label, configuration name) pairs, the defaults first.
    """
    grouped = load_results(results_dir)
    heading = ["configuration", *(f"{e} epochs" for e in budgets),
               f"train min per {budgets[-1]}-epoch run"]
    lines = ["| " + " | ".join(heading) + " |", "|" + " --- |" * len(heading)]
    for index, (label, name) in enumerate(rows):
        cells = []
        for epochs in budgets:
            runs = grouped.get((epochs, name))
            if not runs:
                cells.append("not run")
                continue
            values = [r["metrics"]["frechet"] for r in runs]
            mean = f"{statistics.mean(values):.1f}"
            cells.append(f"{f'**{mean}**' if index == 0 else mean} "
                         f"({', '.join(f'{v:.1f}' for v in values)}; "
                         f"seed{'s' if len(runs) > 1 else ''} "
                         f"{', '.join(str(r['seed']) for r in runs)})")
        longest = grouped.get((budgets[-1], name))
        cells.append(f"{statistics.mean(r['train_seconds'] for r in longest) / 60:.0f}"
                     if longest else "")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def consistency_figure(grouped, names, out_path):
    """Class consistency (and the worst class's, dashed) against epochs, per run."""
    figure, axis = plt.subplots(figsize=(7, 3.6))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, name in enumerate(names):
        epochs = max(e for e, n in grouped if n == name)
        for seed_index, run in enumerate(grouped[(epochs, name)]):
            curve = [row for row in run["curve"] if row.get("consistency")]
            x = [int(row["epoch"]) for row in curve]
            color = colors[index % len(colors)]
            axis.plot(x, [float(row["consistency"]) for row in curve], marker=".", color=color,
                      label=f"{name} ({epochs} epochs)" if seed_index == 0 else None)
            axis.plot(x, [float(row["worst_class_consistency"]) for row in curve],
                      linestyle="--", color=color, alpha=0.6)
    axis.set_xlabel("epoch")
    axis.set_ylabel("class consistency (dashed: worst class)")
    axis.grid(True, alpha=0.3)
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(out_path, dpi=80)
    plt.close(figure)


def curves_figure(grouped, names, out_path):
    """Fréchet distance against minutes of training, one line per run.

    Each run's `--eval_every` curve (2,000 samples, so above its final
    10,000-sample value) is placed in time as epoch / epochs of the run's wall
    time: the pinned runs kept a steady pace. The longest budget of each
    configuration is drawn (it holds the shorter one's start).
    """
    figure, axis = plt.subplots(figsize=(7, 4))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, name in enumerate(names):
        epochs = max(e for e, n in grouped if n == name)
        for seed_index, run in enumerate(grouped[(epochs, name)]):
            minutes = [int(row["epoch"]) / epochs * run["train_seconds"] / 60
                       for row in run["curve"]]
            axis.plot(minutes, [float(row["frechet"]) for row in run["curve"]], marker=".",
                      color=colors[index % len(colors)], alpha=0.8,
                      label=f"{name} ({epochs} epochs)" if seed_index == 0 else None)
    axis.set_yscale("log")
    axis.set_xlabel("minutes of training, one core (the other training too)")
    axis.set_ylabel("Fréchet distance, 2,000 samples")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(out_path, dpi=80)
    plt.close(figure)


def faults_cases_text(path):
    """The damage cases' table as docs/reliability.md shows it, from the JSON
    that benchmarks/faults.py stores at `path`."""
    with open(path) as f:
        result = json.load(f)
    return (f"Measured on {result['date']} ({result['cpu']}; load average "
            f"{result['load']} at the end: other work shared the cores), with "
            "`python benchmarks/faults.py --trials=0` (cases only):\n\n" + result["table"])


def throughput_text(results_dir):
    """docs/performance.md's measured block: every table benchmarks/throughput.py
    --save stored in `results_dir`, by batch size."""
    runs = []
    for path in glob.glob(os.path.join(results_dir, "*.json")):
        with open(path, encoding="utf-8") as f:
            runs.append(json.load(f))
    parts = []
    for run in sorted(runs, key=lambda run: run["batch_size"]):
        parts.append(f"Batch {run['batch_size']}, measured on {run['date']} ({run['device']}; "
                     f"load average {run['load']} at the end), peaks "
                     f"{' and '.join(f'{peak:,} GFLOP/s' for peak in run['peaks'])}:\n\n"
                     f"`{run['command']}`\n\n{run['table']}\n")
    return "\n".join(parts)


def slug(name):
    """A configuration's name as a file name."""
    return "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")
