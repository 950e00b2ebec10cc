"""train.py's flags, made from the Config fields: one declaration per setting.

Each field of `config.Config` is declared with `config.setting(default, help)`;
`flag_specs` turns the fields into what train.py defines with absl, and
`flags_markdown` into the table of docs/flags.md, so --help, the docs and the
library cannot drift apart. (No absl here: train.py defines the flags.)
"""

import dataclasses
import typing

from dcgan_tf.config import (ARCHITECTURES, DATASETS, LOSSES, NAN_POLICIES, PRECISIONS,
                             PRESETS, STRATEGIES, UPSAMPLE_MODES, Config, preset)


@dataclasses.dataclass(frozen=True)
class FlagSpec:
    """What train.py needs to define one flag: made from a Config field.

    Attributes:
        name: the field's and the flag's name.
        kind: 'string', 'enum', 'bool', 'integer' or 'float'.
        choices: the allowed values of an enum, else ().
        help: the field's help text.
        defaults: preset name -> that preset's value (a None init_stddev shown as 0).
    """
    name: str
    kind: str
    choices: tuple
    help: str
    defaults: dict

    @property
    def default_text(self):
        """'256' or '256 (tutorial: 256, pytorch: 64)' when the presets differ."""
        shown = {name: _shown(value) for name, value in self.defaults.items()}
        others = [f"{name}: {value}" for name, value in shown.items()
                  if name != "dcgan" and value != shown["dcgan"]]
        return shown["dcgan"] + (f" ({', '.join(others)})" if others else "")


CHOICES = {"dataset": DATASETS, "architecture": ARCHITECTURES, "upsample": UPSAMPLE_MODES,
           "nan_policy": NAN_POLICIES, "loss": LOSSES, "precision": PRECISIONS,
           "strategy": STRATEGIES}
_KINDS = {str: "string", bool: "bool", int: "integer", float: "float"}


def flag_specs():
    """One FlagSpec per Config field, in declaration order."""
    presets = {name: make() for name, make in PRESETS.items()}
    specs = []
    for field in dataclasses.fields(Config):
        base = next(t for t in typing.get_args(field.type) or (field.type,) if t is not type(None))
        specs.append(FlagSpec(
            name=field.name, kind="enum" if field.name in CHOICES else _KINDS[base],
            choices=CHOICES.get(field.name, ()), help=field.metadata["help"],
            defaults={name: _flag_value(field.name, getattr(config, field.name))
                      for name, config in presets.items()}))
    return specs


def from_flag_values(preset_name, values):
    """The Config for train.py's flags: the preset, with every flag that was set.

    Args:
        preset_name: one of PRESETS.
        values: flag name -> value, None for a flag left unset.
    """
    overrides = {name: value for name, value in values.items() if value is not None}
    if overrides.get("init_stddev") == 0:
        overrides["init_stddev"] = None  # 0 on the command line: Glorot uniform.
    return preset(preset_name, **overrides)


def flags_markdown():
    """The table of docs/flags.md: every setting, its default per preset, its help."""
    lines = ["| flag | default | meaning |", "| --- | --- | --- |"]
    for spec in flag_specs():
        meaning = spec.help + (f" One of: {', '.join(map(str, spec.choices))}."
                               if spec.choices else "")
        lines.append(f"| `--{spec.name}` | {spec.default_text} | {meaning} |")
    return "\n".join(lines) + "\n"


def _flag_value(name, value):
    return 0 if name == "init_stddev" and value is None else value


def _shown(value):
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    return f"`{value}`" if isinstance(value, str) and value else (str(value) or "''")
