"""train.py's flags, made from the Config fields: one declaration per setting.

Each field of `config.Config` is declared with `settings.setting(default, help,
...)`; `flag_specs` turns the fields into what train.py defines with absl, and
`flags_markdown` into the table of docs/flags.md, so --help, the docs and the
library cannot drift apart. (No absl here: train.py defines the flags.)
"""

import dataclasses

from dcgan_tf import settings
from dcgan_tf.config import PRESETS, Config, default_preset, preset


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


def flag_specs():
    """One FlagSpec per Config field, in declaration order."""
    presets = {name: make() for name, make in PRESETS.items()}
    return [FlagSpec(name=field.name,
                     kind="enum" if declared.choices and settings.kind(field) == "string"
                     else settings.kind(field),
                     choices=declared.choices, help=declared.help,
                     defaults={name: settings.flag_value(field, getattr(config, field.name))
                               for name, config in presets.items()})
            for field, declared in settings.declared(Config)]


def from_flag_values(preset_name, values):
    """The Config for train.py's flags: the preset, with every flag that was set.

    Args:
        preset_name: one of PRESETS; None = the dataset's (config.default_preset).
        values: flag name -> value, None for a flag left unset.
    """
    fields = {field.name: field for field in dataclasses.fields(Config)}
    preset_name = preset_name or default_preset(values.get("dataset") or Config().dataset)
    return preset(preset_name, **{name: settings.field_value(fields[name], value)
                                  for name, value in values.items() if value is not None})


def flags_markdown():
    """The table of docs/flags.md: every setting, its default per preset, its help."""
    lines = ["| flag | default | meaning |", "| --- | --- | --- |"]
    for spec in flag_specs():
        meaning = spec.help + (f" One of: {', '.join(map(str, spec.choices))}."
                               if spec.kind == "enum" else "")
        lines.append(f"| `--{spec.name}` | {spec.default_text} | {meaning} |")
    return "\n".join(lines) + "\n"


def _shown(value):
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    return f"`{value}`" if isinstance(value, str) and value else (str(value) or "''")
