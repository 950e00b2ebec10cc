"""The tutorial pages: their marked snippets run, and docs/figures.py makes every figure."""

import json
import os
import re
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES_DIR = os.path.join(REPO, "docs", "tutorial")
FIGURES_DIR = os.path.join(REPO, "docs", "figures")
# A ```python block right after a `<!-- test -->` line is runnable; others are illustrations.
SNIPPET = re.compile(r"^<!-- test -->\n```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
BLOCK = re.compile(r"<!-- figures\.py: (\w+) -->\n(.*?)<!-- /figures\.py: \1 -->", re.DOTALL)
FIGURE = re.compile(r"\]\(\.\./figures/([\w.-]+)\)")
QUOTE = re.compile(r"<!-- quoted from \.\./([\w.-]+) -->\n(.*?)<!-- /quoted -->", re.DOTALL)
MAGIC = {".png": b"\x89PNG\r\n\x1a\n", ".gif": b"GIF89a"}
MAX_FIGURE_BYTES = 150_000  # Committed figures stay small.
# Made by docs/figures_results.py from full training runs, not by docs/figures.py.
FROM_TRAINED_RUNS = {"figures": {"gallery.png", "collapse.png", "latent_walk.png",
                                 "arithmetic.png", "fashion.png"},
                     "blocks": {"gallery", "collapse", "arithmetic", "fashion"}}


def _pages():
    return sorted(name for name in os.listdir(PAGES_DIR) if name.endswith(".md"))


def _read(*parts):
    with open(os.path.join(*parts)) as f:
        return f.read()


def _snippets():
    return [pytest.param(code, id=f"{page}-{index}")
            for page in _pages()
            for index, code in enumerate(SNIPPET.findall(_read(PAGES_DIR, page)))]


@pytest.fixture(scope="module")
def exported_generator_dir(tmp_path_factory):
    """A folder holding runs/mnist/generator: an untrained 28x28 generator, exported."""
    from dcgan_tf import config, export, models

    folder = tmp_path_factory.mktemp("run")
    generator = models.build_generator(config.Config(image_size=28, channels=1))
    export.export_model(generator, str(folder / "runs" / "mnist" / "generator"))
    return folder


def test_docs_pages_have_runnable_snippets_in_the_pages_that_promise_them():
    pages_with_snippets = {param.id.rsplit("-", 1)[0] for param in _snippets()}
    assert {"architecture.md", "normalization.md", "using-the-generator.md",
            "dropout-leakyrelu-batchnorm.md", "discriminator-wins.md"} <= pages_with_snippets


@pytest.mark.parametrize("code", _snippets())
def test_docs_snippet_runs(code, exported_generator_dir, monkeypatch):
    monkeypatch.chdir(exported_generator_dir)  # The snippets load runs/mnist/generator.
    exec(compile(code, "<snippet>", "exec"), {"__name__": "__snippet__"})


def test_docs_savedmodel_snippet_needs_no_dcgan_tf_and_writes_samples(
        exported_generator_dir, monkeypatch):
    (code,) = SNIPPET.findall(_read(PAGES_DIR, "using-the-generator.md"))
    assert "dcgan_tf" not in code
    monkeypatch.chdir(exported_generator_dir)
    namespace = {}
    exec(compile(code, "<snippet>", "exec"), namespace)
    assert os.path.getsize(exported_generator_dir / "samples.png") > 0
    assert namespace["walk"].shape == (10, 28, 28, 1)
    # The walk starts and ends at the two sampled images.
    assert abs(namespace["walk"][0] - namespace["images"][0]).max() < 1e-4
    assert abs(namespace["walk"][-1] - namespace["images"][1]).max() < 1e-4


def test_docs_committed_tables_match_committed_blocks_and_figures_exist():
    for page in _pages():
        text = _read(PAGES_DIR, page)
        for name, body in BLOCK.findall(text):
            assert body == _read(FIGURES_DIR, f"{name}.md"), (
                f"{page}: block {name} was edited by hand; run python docs/figures.py")
        for figure in FIGURE.findall(text):
            assert os.path.isfile(os.path.join(FIGURES_DIR, figure)), f"{page}: {figure}"


def test_docs_committed_figures_are_small():
    for name in os.listdir(FIGURES_DIR):
        if name.endswith(tuple(MAGIC)):
            size = os.path.getsize(os.path.join(FIGURES_DIR, name))
            assert size < MAX_FIGURE_BYTES, f"{name}: {size:,} bytes"


def test_docs_index_links_every_question_to_its_page():
    index = _read(PAGES_DIR, "README.md")
    rows = re.findall(r"^\| (\d+) \| .*\| \[[\w.-]+\]\(([\w.-]+)\) \|$", index, re.MULTILINE)
    assert [number for number, _ in rows] == [str(n) for n in range(1, len(rows) + 1)]
    assert len(rows) >= 16
    for _, page in rows:
        assert os.path.isfile(os.path.join(PAGES_DIR, page)), page
    assert "coming later" not in index.lower() and "TODO" not in index


def test_docs_quotes_match_their_source_word_for_word():
    quotes = [(page, source, body) for page in _pages()
              for source, body in QUOTE.findall(_read(PAGES_DIR, page))]
    assert quotes, "no quoted passages"
    for page, source, body in quotes:
        original = " ".join(_read(REPO, "docs", source).split())
        for paragraph in body.strip().split("\n\n"):
            lines = [line.removeprefix("> ") for line in paragraph.splitlines()]
            assert " ".join(" ".join(lines).split()) in original, f"{page}: {lines[0]}"


def test_figures_script_quick_writes_every_figure_and_fills_every_block(tmp_path):
    pages = tmp_path / "pages"
    pages.mkdir()
    for page in _pages():
        (pages / page).write_text(BLOCK.sub(lambda m: m.group(0).replace(m.group(2), ""),
                                            _read(PAGES_DIR, page)))
    out_dir = tmp_path / "figures"
    process = subprocess.run(
        [sys.executable, "docs/figures.py", "--quick", f"--out_dir={out_dir}",
         f"--docs_dir={pages}"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert process.returncode == 0, process.stderr[-3000:]

    referenced = {figure for page in _pages()
                  for figure in FIGURE.findall(_read(PAGES_DIR, page))
                  } - FROM_TRAINED_RUNS["figures"]
    assert referenced, "the pages show no figures"
    for figure in referenced:
        magic = MAGIC[os.path.splitext(figure)[1]]
        with open(out_dir / figure, "rb") as f:
            assert f.read(len(magic)) == magic, figure
    for page in _pages():
        for name, body in BLOCK.findall((pages / page).read_text()):
            if name in FROM_TRAINED_RUNS["blocks"]:
                continue
            assert body.strip(), f"{page}: block {name} left empty"
            assert body == (out_dir / f"{name}.md").read_text()
    numbers = json.loads((out_dir / "numbers.json").read_text())
    assert numbers["settings"]["quick"] is True
    # Layer shapes do not depend on --quick: the committed tables must still be right.
    for name in ("shapes_28", "shapes_64"):
        assert (out_dir / f"{name}.md").read_text() == _read(FIGURES_DIR, f"{name}.md"), (
            f"the models changed since {name}.md was made: run python docs/figures.py")


def _pages_showing(outputs):
    """The pages (README.md, docs/, docs/tutorial/) that hold one of `outputs`, the
    block files and figures of docs/figures/, as a block or an image."""
    pages = [os.path.join(root, name) for root, _, names in os.walk(os.path.join(REPO, "docs"))
             for name in names if name.endswith(".md") and "figures" not in root]
    shown = []
    for page in sorted(pages + [os.path.join(REPO, "README.md")]):
        text = _read(page)
        if any(f"<!-- figures.py: {name[:-3]} -->" in text if name.endswith(".md")
               else f"figures/{name})" in text for name in outputs):
            shown.append(os.path.relpath(page, REPO))
    return shown


def test_committed_figures_were_made_with_the_settings_the_figure_scripts_use_now():
    """numbers.json records every Config the figure sections built; a default that
    changed since (a preset, a layer setting) fails here, naming the stale pages."""
    recorded = json.loads(_read(FIGURES_DIR, "numbers.json"))["settings"]
    now = json.loads(subprocess.run(
        [sys.executable, "-c", "import json, sys; sys.path.insert(0, 'docs'); import figures; "
         "print(json.dumps(figures.config_record(figures.figure_configs())))"],
        cwd=REPO, capture_output=True, text=True, check=True, timeout=300).stdout)
    assert recorded["quick"] is False
    stale = []
    for section, configs in now.items():
        before = recorded["configs"].get(section, {})
        changes = [f"{name}.{key}: {before.get(name, {}).get(key)!r} -> {value!r}"
                   for name, settings in configs.items() for key, value in settings.items()
                   if before.get(name, {}).get(key, "missing") != value]
        if changes:
            stale.append(f"{section} ({'; '.join(changes)}) is shown on "
                         f"{', '.join(_pages_showing(recorded['outputs'][section]))}")
    assert not stale, ("figures made with other settings than docs/figures.py uses now: "
                       + " | ".join(stale) + "; run python docs/figures.py")


def test_the_staleness_check_finds_the_pages_of_a_section():
    outputs = json.loads(_read(FIGURES_DIR, "numbers.json"))["settings"]["outputs"]

    assert "docs/tutorial/dropout-leakyrelu-batchnorm.md" in _pages_showing(
        outputs["balanced_run"])
    assert "docs/tutorial/architecture.md" in _pages_showing(outputs["shapes"])


def test_figures_results_script_makes_its_figures_from_a_run_directory(mnist_npz, tmp_path):
    """A 1-epoch run stands in for the 50-epoch one: every figure and block is made."""
    run = tmp_path / "run"
    subprocess.run([sys.executable, "train.py", f"--data_dir={mnist_npz(96)}",
                    f"--workdir={run}", "--epochs=1", "--eval_every=1", "--eval_samples=64",
                    "--batch_size=32", "--export_formats=saved_model"], cwd=REPO, check=True,
                   capture_output=True, timeout=300)
    out_dir = tmp_path / "figures"
    out_dir.mkdir()
    process = subprocess.run(
        [sys.executable, "docs/figures_results.py", f"--main_run={run}",
         f"--collapse_run={run}", f"--fashion_runs={run},{run}", "--fashion_labels=a,b",
         f"--out_dir={out_dir}", "--docs_dir="],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert process.returncode == 0, process.stderr[-3000:]
    for figure in FROM_TRAINED_RUNS["figures"] - {"arithmetic.png"}:  # Needs 16 of a digit.
        magic = MAGIC[os.path.splitext(figure)[1]]
        assert (out_dir / figure).read_bytes()[:len(magic)] == magic, figure
    for block in FROM_TRAINED_RUNS["blocks"]:
        assert (out_dir / f"{block}.md").read_text().startswith(("|", "1 steps", "3 steps"))


def test_every_relative_link_and_image_in_the_docs_exists():
    pages = ["README.md", *(os.path.relpath(os.path.join(folder, name), REPO)
                            for folder, _, names in os.walk(os.path.join(REPO, "docs"))
                            for name in names if name.endswith(".md"))]
    broken = []
    for page in pages:
        text = _read(REPO, page)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            path = target.split("#")[0]
            if not path or re.match(r"[a-z]+:", path):
                continue  # An anchor on the same page, or a web address.
            if not os.path.exists(os.path.join(REPO, os.path.dirname(page), path)):
                broken.append(f"{page}: {target}")
    assert len(pages) > 20 and not broken, broken
