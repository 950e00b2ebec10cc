"""benchmarks/quality_report.py: the tables of docs/results.md from stored results."""

import glob
import json
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "benchmarks"))
import quality_report  # noqa: E402

from dcgan_tf import doc_blocks  # noqa: E402

METRICS = (("Fréchet ↓", "frechet", "{:.1f}"), ("recall ↑", "recall", "{:.2f}"))


def _store(results_dir, name, seed, frechet, recall=0.5):
    folder = results_dir / "e10" / quality_report.slug(name)
    folder.mkdir(parents=True, exist_ok=True)
    metrics = dict(frechet=frechet, recall=recall, classes_covered=10)
    (folder / f"seed{seed}.json").write_text(json.dumps(dict(
        name=name, epochs=10, seed=seed, flags=["--batch_size=64"], train_seconds=120.0,
        steps=1560, metrics=metrics, floor=dict(frechet=1.9, recall=0.9, classes_covered=10),
        checkerboard=3.0, curve=[dict(epoch="2", frechet=str(3 * frechet)),
                                 dict(epoch="10", frechet=str(frechet))])))
    Image.fromarray(np.full((60, 60), 128, np.uint8)).save(folder / f"seed{seed}.png")


def test_report_sorts_by_mean_frechet_with_spread_and_writes_one_strip_each(tmp_path):
    results, figures = tmp_path / "results", tmp_path / "docs" / "figures" / "quality"
    _store(results, "slow", 0, 80.0)
    _store(results, "fast", 0, 30.0)
    _store(results, "fast", 1, 40.0)
    configurations = {"slow": ("--batch_size=8",), "fast": ("--batch_size=64",)}
    text = quality_report.report(str(results), str(figures), configurations, METRICS,
                                 default_name="fast")
    rows = [line for line in text.splitlines() if line.startswith("| fast") or
            line.startswith("| slow")]
    assert rows[0].startswith("| fast (the default) | `--batch_size=64` |")
    assert "35.0 ± 7.1 (30.0, 40.0)" in rows[0]
    assert rows[1].startswith("| slow | `--batch_size=8` |") and "| 80.0 |" in rows[1]
    assert "![Fréchet distance against minutes of training](figures/quality/curves.png)" in text
    assert Image.open(figures / "curves.png").size[0] > 200
    strip = np.asarray(Image.open(figures / "e10_fast.png"))
    assert strip.shape == (30, 30 + 6 + 30)  # Two half-size frames and a gap.


def test_fill_block_replaces_only_the_marked_block(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("intro\n<!-- quality.py: tables -->\nold\n<!-- /quality.py: tables -->\nend\n")
    doc_blocks.fill_block(str(page), "tables", "new table")
    assert page.read_text() == ("intro\n<!-- quality.py: tables -->\nnew table\n"
                                "<!-- /quality.py: tables -->\nend\n")


def test_benchmark_reads_each_attempts_xla_setting_from_run_info_or_the_log(tmp_path):
    import quality  # noqa: E402  (beside quality_report; imports no TensorFlow)

    start = "I1201 training.py:82] Seed 0. Dataset mnist: 10000 images 28x28x1 from x. Device: CPU"
    logs = {"on": [f"{start}, XLA on. Workdir: w"], "off": [f"{start}, XLA off. Workdir: w"],
            "old": [f"{start}. Workdir: w"],  # A train.py that did not log it: XLA on then.
            "resumed": [f"{start}. Workdir: w", "Epoch 3/10: ...", f"{start}, XLA off. Workdir: w"]}
    found = {}
    for name, lines in logs.items():
        (tmp_path / name).write_text("\n".join(lines) + "\n")
        found[name] = quality._xla(str(tmp_path / name), attempts=[])
    assert found == {"on": True, "off": False, "old": True, "resumed": "partly"}
    # A run with run_info.json: its records decide, whatever the log says.
    assert quality._xla(str(tmp_path / "on"), [{"xla": False}, {"xla": False}]) is False
    assert quality._xla(str(tmp_path / "on"), [{"xla": False}, {"xla": True}]) == "partly"


def test_report_says_how_the_steps_were_compiled(tmp_path):
    assert quality_report._xla([{"xla": True}, {"xla": True}]) == "on"
    assert quality_report._xla([{"xla": False}]) == "off"
    assert quality_report._xla([{"xla": True}, {"xla": "partly"}]) == "mixed"


def test_every_stored_result_has_the_settings_its_configuration_spells_today():
    # A default that changes after a run must not change what its row claims:
    # each configuration spells out the settings its stored runs were made with.
    import quality  # noqa: E402

    stored = sorted(glob.glob(os.path.join(quality.RESULTS, "e*", "*", "seed*.json")))
    assert len(stored) >= 30
    for path in stored:
        with open(path, encoding="utf-8") as f:
            result = json.load(f)
        command = quality.train_command(result["name"], result["epochs"], result["seed"], "w")
        expected = quality.resolved_settings(command[2:])
        differing = {name: (value, expected[name]) for name, value in result["config"].items()
                     if name in expected and name != "workdir" and value != expected[name]
                     # 0: the dataset's own, which config.json records resolved.
                     and not (name in ("image_size", "channels", "num_classes")
                              and expected[name] == 0)}
        assert not differing, (path, differing)


def test_reliability_page_shows_the_stored_fault_matrix():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    shown = doc_blocks.read_block(os.path.join(repo, "docs", "reliability.md"), "cases",
                                      "faults.py")
    stored = quality_report.faults_cases_text(
        os.path.join(repo, "benchmarks", "results", "faults_cases.json"))
    assert shown == stored + "\n"
    assert "| NO |" not in shown


def test_performance_page_shows_the_stored_export_measurements():
    import export_formats  # noqa: E402  (beside quality_report; TensorFlow only when measuring)
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    shown = doc_blocks.read_block(os.path.join(repo, "docs", "performance.md"),
                                      "export formats", "export_formats.py")
    with open(export_formats.RESULT) as f:
        assert shown == export_formats.table(json.load(f))


def test_performance_page_shows_the_stored_throughput_tables():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    shown = doc_blocks.read_block(os.path.join(repo, "docs", "performance.md"), "measured",
                                  "throughput.py")
    stored = quality_report.throughput_text(os.path.join(repo, "benchmarks", "results",
                                                         "throughput"))
    assert stored and shown.strip() == stored.strip()


def test_rows_with_a_learning_rate_schedule_are_not_continued_from_a_shorter_run():
    import quality  # noqa: E402

    assert quality.continues_exactly("+ resize upsampling + dropout 0.1 + bfloat16")
    assert not quality.continues_exactly("+ resize upsampling + dropout 0.1 + linear lr decay")
