"""Every benchmark block in README.md and docs/ is what its generator writes now from
the stored results in benchmarks/results/: edit a number in a page, or store a new
result without running the report, and the block's test fails, naming the command
that refreshes it."""

import json
import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "benchmarks"))

from dcgan_tf import doc_blocks  # noqa: E402


def _quality(tmp_path, which):
    import quality
    import quality_report

    figures = str(tmp_path / "docs" / "figures" / "quality")  # Links are relative to docs/.
    if which == "tables":
        unconditional = {name: flags for name, flags in quality.CONFIGURATIONS.items()
                         if "--conditional" not in flags}
        return quality_report.report(quality.RESULTS, figures, unconditional,
                                     quality.METRICS[:-2], quality.DEFAULT_NAME)
    if which == "conditional tables":
        return quality_report.conditional_report(quality.RESULTS, figures,
                                                 quality.CONFIGURATIONS, quality.METRICS,
                                                 quality.DEFAULT_NAME)
    if which == "defaults":
        return quality_report.defaults_summary(quality.RESULTS, quality.README_ROWS)
    return quality_report.conditional_summary(quality.RESULTS, quality.CONFIGURATIONS,
                                              quality.DEFAULT_NAME)


def _small_data(tmp_path, which):
    import small_data
    import small_data_report

    figures = str(tmp_path / "docs" / "figures" / "small_data")
    if which == "tables":
        return small_data_report.report(small_data.RESULTS, figures, small_data.ROWS)
    summary = small_data_report.readme_summary(small_data.RESULTS, figures, small_data.ROWS)
    # The README sits one folder above docs/: its links name docs/ (as small_data.py
    # writes them from the real figures folder).
    return summary.replace(os.path.relpath(figures, REPO), "docs/figures/small_data")


def _measure_check():
    import measure_check

    with open(os.path.join(measure_check.RESULTS, "measure_check.json"), encoding="utf-8") as f:
        return measure_check.ladder_text(json.load(f))


def _first_run():
    import first_run

    return first_run.readme_text()


def _memorisation():
    import memorisation

    with open(memorisation.RESULT, encoding="utf-8") as f:
        return memorisation.text(json.load(f))


# (page, the tool that writes the block, block, tmp_path -> what the tool writes now)
BLOCKS = [
    ("docs/results.md", "quality.py", "tables", lambda t: _quality(t, "tables")),
    ("docs/conditional.md", "quality.py", "tables", lambda t: _quality(t, "conditional tables")),
    ("README.md", "quality.py", "conditional", lambda t: _quality(t, "summary")),
    ("README.md", "quality.py", "defaults", lambda t: _quality(t, "defaults")),
    ("docs/results.md", "small_data.py", "tables", lambda t: _small_data(t, "tables")),
    ("README.md", "small_data.py", "own images", lambda t: _small_data(t, "summary")),
    ("docs/metrics.md", "measure_check.py", "ladder", lambda t: _measure_check()),
    ("README.md", "first_run.py", "first run", lambda t: _first_run()),
    ("docs/results.md", "memorisation.py", "memorisation", lambda t: _memorisation()),
]
# measure_check.py measures again to refresh its block; the others have --report.
REFRESH = {"measure_check.py": "python benchmarks/measure_check.py"}


@pytest.mark.parametrize("page, tool, block, make", BLOCKS,
                         ids=[f"{page}:{block}" for page, _, block, _ in BLOCKS])
def test_block_shows_what_its_generator_writes_from_the_stored_results(
        tmp_path, page, tool, block, make):
    shown = doc_blocks.read_block(os.path.join(REPO, page), block, tool)

    command = REFRESH.get(tool, f"python benchmarks/{tool} --report")
    assert shown.strip() == make(tmp_path).strip(), (
        f"{page}: block '{block}' differs from the stored results; run {command}")
