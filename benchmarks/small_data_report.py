"""The tables and pictures of `benchmarks/small_data.py --report`, from its stored results."""

import glob
import json
import re
import os
import statistics

from PIL import Image

from quality_report import cell, frame_strip, slug

METRICS = (  # (heading, path into the evaluate.py record, format)
    ("Fréchet ↓", ("frechet", "value"), "{:.1f}"),
    ("KID ↓", ("kernel", "value"), "{:.2f}"),
    ("precision ↑", ("precision_recall", "precision"), "{:.2f}"),
    ("recall ↑", ("precision_recall", "recall"), "{:.2f}"),
    ("classes ≥2% ↑", ("coverage", "classes_covered"), "{:.0f}"),
)
GROUPS = {
    "emoji64": "Twitter emoji (3,786 images), 64x64, measured by the folder measure "
               "(1,893 samples against the set's odd-numbered half)",
    "emoji32": "Twitter emoji (3,786 images), 32x32, measured by the folder measure "
               "(1,893 samples against the set's odd-numbered half)",
    "mnist1000": "1,000 images of the bundled MNIST sample (repeated to 10,000: 10 epochs "
                 "= 3,120 steps), measured by the MNIST classifier (10,000 samples)",
    "mnist100": "100 images of the bundled MNIST sample (repeated to 10,000), measured by "
                "the MNIST classifier (10,000 samples)",
}


def load_results(results_dir):
    """{name: [measured result dicts, by seed]}."""
    grouped = {}
    for path in glob.glob(os.path.join(results_dir, "*", "seed*.json")):
        with open(path, encoding="utf-8") as f:
            result = json.load(f)
        if result.get("metrics"):
            grouped.setdefault(result["name"], []).append(result)
    for runs in grouped.values():
        runs.sort(key=lambda r: r["seed"])
    return grouped


def _value(record, path):
    for key in path:
        record = record[key]
    return record


def _row(label, records):
    return f"| {label} | " + " | ".join(
        cell([_value(r, path) for r in records], fmt) for _, path, fmt in METRICS)


def table(group, grouped, rows, results_dir):
    heading = ["configuration", "flags", "seeds", *(m[0] for m in METRICS), "train min/run",
               "steps"]
    lines = ["| " + " | ".join(heading) + " |", "|" + " --- |" * len(heading)]
    names = [n for n, (g, _) in rows.items() if g == group and n in grouped]
    names.sort(key=lambda n: statistics.mean(
        r["metrics"]["frechet"]["value"] for r in grouped[n]))
    for name in names:
        runs = grouped[name]
        minutes = statistics.mean(r["train_seconds"] for r in runs) / 60
        label = f"{name} | `{' '.join(rows[name][1])}` | {', '.join(str(r['seed']) for r in runs)}"
        lines.append(_row(label, [r["metrics"] for r in runs])
                     + f" | {minutes:.0f} | {runs[0]['steps']} |")
    floor = grouped[names[0]][0]["floor"]
    lines.append(_row("real vs real (floor) | | ", [floor]) + " | | |")
    other = os.path.join(results_dir, "reference", f"{group}_facebook.json")
    if os.path.exists(other):
        with open(other, encoding="utf-8") as f:
            lines.append(_row("the same emoji drawn by Facebook | | ",
                              [json.load(f)["generated"]]) + " | | |")
    return "\n".join(lines), names


def report(results_dir, figures_dir, rows):
    """Markdown per group, and one picture per row (its seeds' final frames)."""
    grouped = load_results(results_dir)
    os.makedirs(figures_dir, exist_ok=True)
    parts = []
    for group, description in GROUPS.items():
        if not any(g == group and n in grouped for n, (g, _) in rows.items()):
            continue
        text, names = table(group, grouped, rows, results_dir)
        parts.append(f"### {description}\n\n{text}\n")
        mode = "RGB" if group.startswith("emoji") else "L"
        for name in names:
            paths = [os.path.join(results_dir, slug(name), f"seed{r['seed']}.png")
                     for r in grouped[name]]
            out = os.path.join(figures_dir, f"{slug(name)}.png")
            shrink = 1 if group == "emoji64" else 2  # 64-pixel images are not enlarged.
            Image.fromarray(frame_strip(paths, mode=mode, shrink=shrink)).save(out, optimize=True)
            link = os.path.relpath(out, os.path.dirname(os.path.dirname(figures_dir)))
            parts.append(f"**{name}** (seeds {', '.join(str(r['seed']) for r in grouped[name])})"
                         f"\n\n![{name}]({link})\n")
    return "\n".join(parts)


def readme_summary(results_dir, figures_dir, rows):
    """The README's lines for the best-measured emoji row of each size: its command,
    time, Fréchet distance beside the floor and the other artwork, and its grid."""
    grouped = load_results(results_dir)
    parts = []
    for group in ("emoji32", "emoji64"):
        names = [n for n, (g, _) in rows.items() if g == group and n in grouped]
        if not names:
            continue
        best = min(names, key=lambda n: statistics.mean(
            r["metrics"]["frechet"]["value"] for r in grouped[n]))
        runs = grouped[best]
        other = os.path.join(results_dir, "reference", f"{group}_facebook.json")
        facebook = ""
        if os.path.exists(other):
            with open(other, encoding="utf-8") as f:
                facebook = (f", Facebook's drawings of the same emoji "
                            f"{json.load(f)['generated']['frechet']['value']:.1f}")
        frechet = [r["metrics"]["frechet"]["value"] for r in runs]
        classes = min(r["metrics"]["coverage"]["classes_covered"] for r in runs)
        repo = os.path.dirname(os.path.dirname(os.path.dirname(figures_dir)))
        link = os.path.relpath(os.path.join(figures_dir, f"{slug(best)}.png"), repo)  # README
        # The emoji folder as the README's get_emoji.py command writes it, wherever it ran.
        command = re.sub(r"--data_dir=\S*/(data/emoji/)", r"--data_dir=\1", runs[0]["command"])
        if "--preset=" not in command:  # Run when dcgan was --dataset=folder's default.
            command = command.replace("--dataset=folder", "--dataset=folder --preset=dcgan")
        command = command.replace("--nodownload ", "").replace(
            " --workdir=WORKDIR", "").replace(f" --seed={runs[0]['seed']}", "")
        parts.append(
            f"**{group[5:]}x{group[5:]}**: `{command}` ({runs[0]['steps']:,} steps) took "
            f"{statistics.mean(r['train_seconds'] for r in runs) / 60:.0f} minutes per run on "
            f"one core of the 2-core Intel Xeon VM (two runs at once). Folder measure "
            f"(Fréchet, {runs[0]['metrics']['frechet']['num_samples']:,} samples): "
            f"{', '.join(f'{v:.1f}' for v in frechet)} for seed{'s' if len(runs) > 1 else ''} "
            f"{', '.join(str(r['seed']) for r in runs)}; real-vs-real floor "
            f"{runs[0]['floor']['frechet']['value']:.1f}{facebook}; at least {classes} of the "
            f"{runs[0]['metrics']['coverage']['num_classes']} categories above 2% of the "
            f"samples.\n\n![{best}, final frames, one grid per seed]({link})\n")
    return "\n".join(parts)


def augment_figure(emoji_dir, out, count=6):
    """What the discriminator sees with --augment: `count` emoji (rows: the images,
    then each transform alone, then all three), drawn with dcgan_tf.augment."""
    import numpy as np
    import tensorflow as tf

    from dcgan_tf import augment, data, readers

    paths = readers.list_image_files(emoji_dir)
    picked = [paths[i] for i in np.linspace(0, len(paths) - 1, count).astype(int)]
    images = data.normalize(np.stack([readers.load_image(p, 64, 3) for p in picked]))
    rows = [images]
    for policy in ("color", "translation", "cutout", "color,translation,cutout"):
        rows.append(augment.make_augment(policy, tf.random.Generator.from_seed(1))(images))
    pixels = [np.uint8(np.clip(np.round((np.asarray(row) + 1) * 127.5), 0, 255)) for row in rows]
    gap = 4
    picture = np.full((len(rows) * (64 + gap) - gap, count * (64 + gap) - gap, 3), 255, np.uint8)
    for r, row in enumerate(pixels):
        for c, image in enumerate(row):
            picture[r * (64 + gap):r * (64 + gap) + 64, c * (64 + gap):c * (64 + gap) + 64] = image
    Image.fromarray(picture).save(out, optimize=True)
