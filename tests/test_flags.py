"""train.py's flags come from the Config fields: one declaration per setting."""

import dataclasses
import os
import subprocess
import sys

import pytest

from dcgan_tf import config, config_flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGS_DOC = os.path.join(REPO, "docs", "flags.md")


def test_every_config_field_has_help_and_a_flag_in_train_help():
    shown = subprocess.run([sys.executable, "train.py", "--helpfull"], cwd=REPO,
                           capture_output=True, text=True, timeout=60).stdout
    for field in dataclasses.fields(config.Config):
        assert field.metadata["setting"].help, field.name
        assert f"--{field.name}:" in shown or f"--[no]{field.name}:" in shown, field.name


def test_docs_flags_md_is_the_generated_table():
    with open(FLAGS_DOC, encoding="utf-8") as f:
        text = f.read()
    sys.path.insert(0, os.path.join(REPO, "scripts"))
    import write_flags_doc  # noqa: E402
    for table in (config_flags.flags_markdown(), write_flags_doc.tools_markdown()):
        assert table in text, "docs/flags.md is out of date: run python scripts/write_flags_doc.py"


def test_from_flag_values_unset_flags_take_the_preset():
    tutorial = config_flags.from_flag_values("tutorial", {"learning_rate": None, "epochs": 3})
    assert (tutorial.learning_rate, tutorial.beta_1, tutorial.epochs) == (1e-4, 0.9, 3)
    changed = config_flags.from_flag_values("tutorial", {"learning_rate": 2e-4, "init_stddev": 0})
    assert changed.learning_rate == 2e-4
    assert changed.init_stddev is None  # 0 on the command line means Glorot.


@pytest.mark.parametrize("name", list(config.TUTORIAL))
def test_tutorial_preset_fixes_every_setting_the_tutorial_fixes(name):
    assert getattr(config.tutorial_preset(), name) == config.TUTORIAL[name]


def test_tutorial_preset_is_the_tensorflow_tutorial():
    tutorial = config.tutorial_preset()
    assert (tutorial.architecture, tutorial.batch_size, tutorial.kernel_size,
            tutorial.upsample) == ("tutorial", 256, 5, "transpose")
    assert (tutorial.learning_rate, tutorial.beta_1, tutorial.init_stddev,
            tutorial.leaky_relu_slope, tutorial.dropout_rate) == (1e-4, 0.9, None, 0.3, 0.3)


def test_pytorch_preset_is_the_pytorch_notebook_recipe():
    recipe = config.pytorch_preset()
    assert (recipe.architecture, recipe.batch_size, recipe.kernel_size, recipe.init_stddev,
            recipe.learning_rate, recipe.beta_1, recipe.loss, recipe.dropout_rate) == (
        "dcgan_paper", 64, 4, 0.02, 2e-4, 0.5, "non_saturating", 0.0)


def test_bad_preset_name_is_an_input_error():
    with pytest.raises(config.InputError, match="--preset='nope'"):
        config.preset("nope")


def test_an_image_folder_gets_the_colour_preset_unless_another_is_chosen():
    folder = config_flags.from_flag_values(None, {"dataset": "folder", "data_dir": "photos"})
    assert folder == config.colour_preset(dataset="folder", data_dir="photos")
    assert (folder.architecture, folder.generator_filters, folder.discriminator_filters) == (
        "dcgan_paper", 32, 32)
    assert config_flags.from_flag_values(None, {"dataset": None}) == config.dcgan_preset()
    chosen = config_flags.from_flag_values("dcgan", {"dataset": "folder", "data_dir": "x"})
    assert chosen.architecture == "tutorial"
