"""settings.setting: one declaration gives a field its flag, checks and resume rule."""

import dataclasses
import os
import subprocess
import sys

import pytest
from absl import flags

from dcgan_tf import config, run_dir, settings, tool_settings
from dcgan_tf.errors import InputError
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclasses.dataclass(frozen=True)
class Example:
    name: str = settings.setting("", "A name.", choices=("a", "b"))
    count: int = settings.setting(3, "How many.", minimum=1, maximum=9, resume=True)
    rate: float = settings.setting(0.5, "A rate.", above=0, below=1)
    scale: float | None = settings.setting(None, "A scale; 0 = none.", above=0, none_flag=0)

    def __post_init__(self):
        settings.normalize(self)
        settings.check(self)


@pytest.mark.parametrize("values, message", [
    (dict(name="c"), "--name='c' is not supported; choose one of a, b."),
    (dict(count=0), "--count must be at least 1, got 0."),
    (dict(count=10), "--count must be at most 9, got 10."),
    (dict(rate=1.0), r"--rate must be in \(0, 1\), got 1.0."),
    (dict(scale=-1.0), "--scale must be positive, or 0 for none, got -1.0."),
])
def test_check_refuses_values_outside_the_declaration_naming_the_flag(values, message):
    with pytest.raises(InputError, match=message):
        Example(**values)


def test_an_empty_default_outside_the_choices_means_unset_and_is_allowed():
    assert Example(name="").name == ""
    assert Example(name="b", scale=None).scale is None
    assert Example(scale=0).scale is None  # The none_flag means None in Python too.


def test_flags_made_from_the_declaration_build_the_object():
    flag_values = flags.FlagValues()
    settings.define_flags(Example, flag_values=flag_values)
    flag_values(["prog", "--name=b", "--count=4", "--scale=0"])

    made = settings.from_flags(Example, flag_values)

    assert made == Example(name="b", count=4, rate=0.5, scale=None)  # 0 on the command line.
    assert flag_values["count"].help == "How many."
    assert settings.resume_fields(Example) == ("count",)
    with pytest.raises(flags.IllegalFlagValueError):
        flag_values(["prog", "--name=c"])  # An enum: refused while parsing.


def test_resume_fields_are_the_config_fields_declared_so():
    declared = [field.name for field in dataclasses.fields(config.Config)
                if field.metadata["setting"].resume]
    assert run_dir.RESUME_FIELDS == tuple(declared)
    # Pinned: a setting that stops being a resume field lets old runs resume wrongly.
    assert set(declared) == {
        "dataset", "image_size", "channels", "conditional", "conditioning", "num_classes",
        "batch_size", "noise_dim",
        "num_examples_to_generate", "seed", "buffer_size", "architecture",
        "generator_filters", "discriminator_filters", "upsample", "kernel_size",
        "init_stddev", "leaky_relu_slope", "dropout_rate", "precision"}


@pytest.mark.parametrize("tool, cls", [("generate.py", tool_settings.SamplingConfig),
                                       ("evaluate.py", tool_settings.EvalConfig)])
def test_every_tool_setting_is_a_flag_with_its_help(tool, cls):
    shown = subprocess.run([sys.executable, tool, "--help"], cwd=REPO, capture_output=True,
                           text=True, timeout=60).stdout
    for field in dataclasses.fields(cls):
        assert f"--{field.name}:" in shown or f"--[no]{field.name}:" in shown, field.name
        assert field.metadata["setting"].help.split()[0] in shown
