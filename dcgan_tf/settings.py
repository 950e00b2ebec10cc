"""One declaration per setting: a dataclass field says everything about its flag.

    @dataclasses.dataclass(frozen=True)
    class SamplingConfig:
        num: int = setting(64, "Images to generate.", minimum=1)

        def __post_init__(self):
            settings.check(self)  # Choices and bounds, with the flag's name.

`define_flags(SamplingConfig)` makes the absl flags (help text, choices, default)
and `from_flags(SamplingConfig)` builds the object from them; train.py's Config,
generate.py's SamplingConfig and evaluate.py's EvalConfig are all declared this
way, and docs/flags.md is generated from the same fields. No TensorFlow here, so
`--help` and a mistyped value answer before it loads.
"""

import dataclasses
import typing

from dcgan_tf.errors import InputError

_KINDS = {str: "string", bool: "bool", int: "integer", float: "float"}


@dataclasses.dataclass(frozen=True)
class Setting:
    """What a field declares beyond its default (see `setting`)."""
    help: str
    choices: tuple = ()
    minimum: float | None = None
    maximum: float | None = None
    above: float | None = None
    below: float | None = None
    resume: bool = False
    none_flag: object = None


def setting(default, help, *, choices=(), minimum=None, maximum=None, above=None, below=None,
            resume=False, none_flag=None):
    """A dataclass field and everything its flag needs.

    Args:
        default: the field's default.
        help: the flag's --help text (and its row in docs/flags.md).
        choices: the allowed values; a falsy default outside them (0, '') means
            "decided elsewhere" and is allowed too.
        minimum, maximum: inclusive bounds.
        above, below: exclusive bounds.
        resume: a run directory made with another value cannot be resumed with
            this one (it shapes the networks, the data or the random streams).
        none_flag: the flag value that stands for None (e.g. 0 for init_stddev:
            Keras' own initializer), so a None field can be given on the command line.
    """
    return dataclasses.field(default=default, metadata={"setting": Setting(
        help, tuple(choices), minimum, maximum, above, below, resume, none_flag)})


def declared(cls):
    """(field, Setting) for every field of the dataclass `cls`, in order."""
    return [(field, field.metadata["setting"]) for field in dataclasses.fields(cls)]


def resume_fields(cls):
    """Names of the fields declared with resume=True."""
    return tuple(field.name for field, declared_setting in declared(cls) if declared_setting.resume)


def check(instance):
    """Raises InputError, naming the flag, for the first value outside its
    declared choices or bounds."""
    for field, spec in declared(type(instance)):
        value = getattr(instance, field.name)
        if value is None or isinstance(value, bool):
            continue
        if spec.choices:
            if value not in spec.choices and not (not value and value == field.default):
                raise InputError(f"--{field.name}={value!r} is not supported; choose one of "
                                 f"{', '.join(str(c) for c in spec.choices)}.")
        else:
            problem = _outside(value, spec)
            if problem:
                unset = f", or {spec.none_flag} for none" if spec.none_flag is not None else ""
                raise InputError(f"--{field.name} must be {problem}{unset}, got {value}.")


def normalize(instance):
    """Sets each field holding its declared none_flag (0 for init_stddev) to None,
    as the flag means; call it first in a frozen dataclass's __post_init__."""
    for field, spec in declared(type(instance)):
        value = getattr(instance, field.name)
        if (spec.none_flag is not None and not isinstance(value, bool)
                and value == spec.none_flag):
            object.__setattr__(instance, field.name, None)


def kind(field):
    """'string', 'bool', 'integer' or 'float' (of an Optional field, its type)."""
    base = next(t for t in typing.get_args(field.type) or (field.type,) if t is not type(None))
    return _KINDS[base]


def flag_value(field, value):
    """A field's value as its flag takes it (None as the declared none_flag)."""
    return field.metadata["setting"].none_flag if value is None else value


def field_value(field, value):
    """A flag's value as the field holds it (the none_flag as None)."""
    none_flag = field.metadata["setting"].none_flag
    return None if none_flag is not None and value == none_flag else value


def define_flags(cls, unset=False, required=(), flag_values=None):
    """Defines one absl flag per field of `cls`, as the calling tool's own flags.

    Args:
        unset: every flag defaults to None, so the caller can tell which were
            given (train.py: the preset decides the rest); otherwise a flag's
            default is the field's.
        required: names of flags the command line must give.
        flag_values: where to define them; None = absl's global FLAGS.
    """
    from absl import flags  # Light; only the tools need it.
    flags.disclaim_key_flags()  # The flags belong to the tool calling this (for --help).
    where = dict(flag_values=flags.FLAGS if flag_values is None else flag_values)
    for field, spec in declared(cls):
        default = None if unset or field.name in required else flag_value(field, field.default)
        if spec.choices and kind(field) == "string":
            choices = [str(c) for c in spec.choices] + ([""] if field.default == "" else [])
            flags.DEFINE_enum(field.name, default, choices, spec.help, **where)
        else:
            getattr(flags, f"DEFINE_{kind(field)}")(field.name, default, spec.help, **where)
    flags.mark_flags_as_required(list(required), **where)


def from_flags(cls, flag_values=None, **values):
    """`cls` built from its flags' values (each flag that is set), plus `values`."""
    if flag_values is None:
        from absl import flags
        flag_values = flags.FLAGS
    for field, _ in declared(cls):
        value = flag_values[field.name].value
        if value is not None and field.name not in values:
            values[field.name] = field_value(field, value)
    return cls(**values)


def markdown_table(cls, required=()):
    """The flags of `cls` as a Markdown table: flag, default, meaning."""
    lines = ["| flag | default | meaning |", "| --- | --- | --- |"]
    for field, spec in declared(cls):
        default = field.default
        shown = ("required" if field.name in required else
                 str(default).lower() if isinstance(default, bool) else
                 f"`{default}`" if isinstance(default, str) and default else
                 "''" if default == "" else str(default))
        lines.append(f"| `--{field.name}` | {shown} | {spec.help} |")
    return "\n".join(lines) + "\n"


def _outside(value, spec):
    """How `value` misses the declared bounds ('at least 1', 'in (0, 1)'), or ''.

    A range with an exclusive upper end reads as an interval; otherwise each end
    is named on its own."""
    low_ok = ((spec.minimum is None or value >= spec.minimum)
              and (spec.above is None or value > spec.above))
    high_ok = ((spec.maximum is None or value <= spec.maximum)
               and (spec.below is None or value < spec.below))
    if low_ok and high_ok:
        return ""
    if spec.below is not None:
        low = "[{}".format(spec.minimum) if spec.minimum is not None else "({}".format(spec.above)
        return f"in {low}, {spec.below})"
    if not high_ok:
        return f"at most {spec.maximum}"
    if spec.above is not None:
        return "positive" if spec.above == 0 else f"more than {spec.above}"
    return "0 or more" if spec.minimum == 0 else f"at least {spec.minimum}"
