"""The quality measure for image folders (dcgan_tf.folder_measure, evaluate.py, --eval_every)."""

import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

from conftest import read_log, small_config
from dcgan_tf import config, evaluation, export, folder_measure, models, tool_settings, training
from dcgan_tf.errors import InputError

SIDE = 32


def _draw(kind, rng):
    """A white 32x32 picture of a red disc or a blue square, at a random place and size."""
    image = Image.new("RGB", (SIDE, SIDE), "white")
    radius = int(rng.integers(5, 10))
    x, y = rng.integers(radius, SIDE - radius, size=2)
    box = (x - radius, y - radius, x + radius, y + radius)
    draw = ImageDraw.Draw(image)
    if kind == "discs":
        draw.ellipse(box, fill=(220, 30, 30))
    else:
        draw.rectangle(box, fill=(30, 30, 220))
    return image


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    """A labelled folder: discs/ and squares/, 150 PNGs each (Fréchet distances
    of 128 features need a few hundred images to rank reliably)."""
    root = tmp_path_factory.mktemp("shapes")
    rng = np.random.default_rng(0)
    for kind in ("discs", "squares"):
        (root / kind).mkdir()
        for index in range(150):
            _draw(kind, rng).save(root / kind / f"{index:03d}.png")
    return root


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DCGAN_TF_CACHE", str(tmp_path / "cache"))


def test_read_folder_labels_subfolders_and_halves_alternate(shapes):
    folder = folder_measure.read_folder(str(shapes), (SIDE, SIDE, 3))
    assert folder.images.shape == (300, SIDE, SIDE, 3)
    assert folder.class_names == ("discs", "squares")
    half_a, half_b = folder.half(0), folder.half(1)
    assert len(half_a.images) == len(half_b.images) == 150
    assert np.bincount(half_a.labels).tolist() == np.bincount(half_b.labels).tolist() == [75, 75]


def test_folder_without_subfolders_gets_random_features_and_refuses_classifier(tmp_path):
    rng = np.random.default_rng(1)
    for index in range(24):
        _draw("discs", rng).save(tmp_path / f"{index}.png")
    folder = folder_measure.read_folder(str(tmp_path), (SIDE, SIDE, 3))
    assert folder.labels is None
    assert folder_measure.load_feature_net(folder).info["kind"] == "random"
    with pytest.raises(InputError, match="no class subfolders"):
        folder_measure.load_feature_net(folder, "classifier")


def test_too_few_images_is_refused_naming_the_folder(tmp_path):
    _draw("discs", np.random.default_rng(0)).save(tmp_path / "one.png")
    with pytest.raises(InputError, match=f"--data_dir={tmp_path}: 1 readable"):
        folder_measure.read_folder(str(tmp_path), (SIDE, SIDE, 3))


def test_reference_ranks_one_class_and_noise_below_real_images(shapes):
    reference = evaluation.load_folder_reference(str(shapes), (SIDE, SIDE, 3))
    assert reference.feature_net.info["held_out_accuracy"] > 0.9
    rng = np.random.default_rng(5)
    discs_only = np.stack([np.asarray(_draw("discs", rng)) for _ in range(150)])
    both = np.stack([np.asarray(_draw(kind, rng)) for kind in ("discs", "squares")
                     for _ in range(75)])
    noise = rng.integers(0, 256, (150, SIDE, SIDE, 3)).astype(np.uint8)

    reports = {name: evaluation.evaluate_images(images, reference)
               for name, images in (("both", both), ("discs", discs_only), ("noise", noise))}
    assert reports["both"].coverage.classes_covered == 2
    assert reports["discs"].coverage.classes_covered == 1
    frechet = {name: report.frechet.value for name, report in reports.items()}
    assert frechet["both"] < 4 * reference.floor.frechet.value
    assert 3 * frechet["both"] < frechet["discs"]
    assert frechet["noise"] > 20 * reference.floor.frechet.value


def test_feature_net_is_cached_and_reloaded_with_identical_features(shapes):
    folder = folder_measure.read_folder(str(shapes), (SIDE, SIDE, 3))
    first = folder_measure.load_feature_net(folder)
    second = folder_measure.load_feature_net(folder)
    assert first.info["cache"] == second.info["cache"]
    features = [net.model(folder.images[:8].astype(np.float32) / 127.5 - 1)[0].numpy()
                for net in (first, second)]
    np.testing.assert_allclose(features[0], features[1], rtol=1e-5, atol=1e-6)


def test_evaluate_run_on_a_folder_run_reads_its_data_dir_and_writes_json(shapes, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    generator = models.build_generator(config.Config(image_size=SIDE, channels=3, noise_dim=8))
    export.export_model(generator, str(run_dir / "generator"))
    (run_dir / "config.json").write_text(json.dumps({"dataset": "folder",
                                                      "data_dir": str(shapes)}))

    report, reference, out = evaluation.run(
        tool_settings.EvalConfig(model=str(run_dir / "generator"), num=40))

    record = json.loads((run_dir / "metrics.json").read_text())
    assert out == str(run_dir / "metrics.json")
    assert record["dataset"] == "folder" and record["data_dir"] == str(shapes)
    assert record["feature_net"]["kind"] == "classifier"
    assert report.frechet.value > 5 * reference.floor.frechet.value  # Untrained: far off.


def test_evaluate_images_mode_measures_a_real_folder_against_the_reference(shapes, tmp_path):
    report, reference, _ = evaluation.run(tool_settings.EvalConfig(
        images=str(shapes), dataset="folder", data_dir=str(shapes), image_size=SIDE, num=40,
        out=str(tmp_path / "real.json")))
    assert report.frechet.num_samples == 40
    assert report.coverage.classes_covered == 2


def test_train_eval_every_on_a_folder_writes_metrics_rows(shapes, tmp_path):
    training.train(small_config(shapes, tmp_path, dataset="folder", image_size=SIDE,
                                eval_every=1, eval_samples=20, epochs=1))
    rows = read_log(tmp_path, "metrics.csv")
    assert [int(row["step"]) for row in rows] == [300 // 32]
    assert float(rows[0]["frechet"]) > 0 and int(rows[0]["classes_covered"]) >= 1
