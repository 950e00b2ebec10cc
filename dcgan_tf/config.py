"""Run configuration: one frozen dataclass, built by keyword, with presets.

`train.py` turns its flags into a `Config`; everything in the library takes a
`Config` (or the few values it needs) and never reads flags itself. The config is
written to `<workdir>/config.json` so a run records exactly how it was made.
"""

import dataclasses
import json

from dcgan_tf.errors import InputError

DATASETS = ("mnist", "fashion_mnist", "cifar10", "folder")
PRESETS = ("tutorial", "dcgan")
UPSAMPLE_MODES = ("transpose", "resize")
NAN_POLICIES = ("stop", "skip")
LOSSES = ("non_saturating", "hinge", "least_squares")  # See dcgan_tf.losses.
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
STRATEGIES = ("default", "mirrored", "multi_worker")  # See dcgan_tf.distribute.
IMAGE_SIZES = (28, 32, 64, 128)
CHANNELS = (1, 3)
MAX_SEED = 2**32 - 1

# Settings a run must keep to be resumed: they decide the shape of the networks,
# the data they train on, or what one step is. Restoring a checkpoint under
# different values would load weights into another model (or miscount epochs).
# The quality levers are not among them: loss, label_smoothing and ema_decay change
# what later steps do, not what the checkpoint holds. A run resumed with --ema_decay
# newly on starts its average at the restored generator; one resumed with it off
# drops the stored average at its next save. Nor are the speed settings, except
# precision: float16 adds loss scales to the checkpoint. A run saved under one
# tf.distribute strategy resumes under another.
RESUME_FIELDS = ("dataset", "image_size", "channels", "batch_size", "noise_dim", "upsample",
                 "kernel_size", "init_stddev", "leaky_relu_slope", "dropout_rate",
                 "precision")


@dataclasses.dataclass(frozen=True)
class Config:
    """Everything a training run needs. Defaults are the `dcgan` preset.

    Attributes:
        dataset: one of DATASETS.
        data_dir: local copy of the data ('' = look in the usual places).
        workdir: run directory; every artifact of the run goes under it.
        download: allow `keras.datasets` to download when no local copy exists.
        epochs: total number of epochs (a resumed run continues up to this).
        batch_size: images per training step; the last partial batch is dropped.
        buffer_size: shuffle buffer in images; 0 = the whole dataset (a full shuffle).
        noise_dim: length of the generator's input noise vector.
        image_size: side of the square images; 0 = the dataset's native size.
        channels: 1 (grayscale) or 3 (RGB); 0 = the dataset's native channels.
        upsample: 'transpose' (Conv2DTranspose) or 'resize' (nearest upsample + Conv2D).
        kernel_size: convolution kernel side in both networks.
        init_stddev: std of the N(0, s) kernel init; None = Keras' Glorot uniform.
        leaky_relu_slope: negative slope of every LeakyReLU.
        dropout_rate: dropout after each discriminator convolution.
        learning_rate: Adam learning rate of the generator, and of the
            discriminator unless discriminator_learning_rate is set.
        discriminator_learning_rate: the discriminator's Adam learning rate;
            None = learning_rate (one time-scale, as the tutorial).
        beta_1: Adam beta_1 for both networks.
        seed: seeds Python, NumPy and TensorFlow once, at the start of a run.
        max_steps: stop after this many total steps (0 = no limit); for smoke runs.
        checkpoint_every: also checkpoint every N steps (0 = only at epoch ends).
        num_examples_to_generate: images in each progress frame (a square grid).
        nan_policy: on a step with a non-finite loss or gradient (which is never
            applied), 'stop' training or 'skip' the batch and go on.
        loss: one of LOSSES; 'non_saturating' is the tutorial's.
        label_smoothing: one-sided: real targets 1 - s, fakes 0; in [0, 0.5),
            non_saturating loss only.
        ema_decay: 0 = off; else the decay of an exponential moving average of
            the generator's weights (e.g. 0.999), used for frames, evaluation and
            the export.
        eval_every: measure sample quality every N epochs into metrics.csv (0 = off).
        eval_samples: generated images per such measurement.
        steps_per_call: training steps per call of the compiled loop; Python and
            launch overhead is paid once per call (progress, signals and
            --checkpoint_every are handled between calls).
        jit_compile: compile the train step with XLA; None = on with the default
            strategy, off with a distributed one (see the `xla` property). On 2
            CPU cores XLA made the step 1.2x faster at batch 64 and changed little
            at 256 (docs/performance.md).
        precision: one of PRECISIONS; the mixed ones compute in 16 bits with
            float32 weights, BatchNorm statistics, logits and losses, and
            mixed_float16 scales each network's loss dynamically.
        strategy: one of STRATEGIES: 'mirrored' = every GPU of this machine
            (or its logical CPUs), 'multi_worker' = the machines in TF_CONFIG.
        sync_batchnorm: BatchNorm statistics over the global batch instead of
            each replica's share (only matters with several replicas).
    """

    dataset: str = "mnist"
    data_dir: str = ""
    workdir: str = ""
    download: bool = True
    epochs: int = 50
    batch_size: int = 256
    buffer_size: int = 0
    noise_dim: int = 100
    image_size: int = 0
    channels: int = 0
    upsample: str = "transpose"
    kernel_size: int = 5
    init_stddev: float | None = 0.02
    leaky_relu_slope: float = 0.2
    dropout_rate: float = 0.3
    learning_rate: float = 2e-4
    discriminator_learning_rate: float | None = None
    beta_1: float = 0.5
    seed: int = 0
    max_steps: int = 0
    checkpoint_every: int = 0
    num_examples_to_generate: int = 16
    nan_policy: str = "stop"
    loss: str = "non_saturating"
    label_smoothing: float = 0.0
    ema_decay: float = 0.0
    eval_every: int = 0
    eval_samples: int = 2000
    steps_per_call: int = 1
    jit_compile: bool | None = None
    precision: str = "float32"
    strategy: str = "default"
    sync_batchnorm: bool = False

    def __post_init__(self):
        _check_choice("dataset", self.dataset, DATASETS)
        _check_choice("upsample", self.upsample, UPSAMPLE_MODES)
        _check_choice("nan_policy", self.nan_policy, NAN_POLICIES)
        _check_choice("loss", self.loss, LOSSES)
        _check_choice("precision", self.precision, PRECISIONS)
        _check_choice("strategy", self.strategy, STRATEGIES)
        if self.jit_compile is True and self.strategy != "default":
            raise InputError(f"--jit_compile works with --strategy=default only, not "
                             f"--strategy={self.strategy}.")
        if self.image_size:
            _check_choice("image_size", self.image_size, IMAGE_SIZES)
        if self.channels:
            _check_choice("channels", self.channels, CHANNELS)
        for name in ("epochs", "batch_size", "noise_dim", "kernel_size",
                     "num_examples_to_generate", "steps_per_call"):
            if getattr(self, name) < 1:
                raise InputError(f"--{name} must be at least 1, got {getattr(self, name)}.")
        for name in ("buffer_size", "max_steps", "checkpoint_every", "seed", "eval_every"):
            if getattr(self, name) < 0:
                raise InputError(f"--{name} must be 0 or more, got {getattr(self, name)}.")
        if self.seed > MAX_SEED:
            # NumPy's global seed, which keras.utils.set_random_seed sets, is 32-bit.
            raise InputError(f"--seed must be at most {MAX_SEED}, got {self.seed}.")
        if not 0 < self.learning_rate < 1:
            raise InputError(f"--learning_rate must be in (0, 1), got {self.learning_rate}.")
        if (self.discriminator_learning_rate is not None
                and not 0 < self.discriminator_learning_rate < 1):
            raise InputError("--discriminator_learning_rate must be in (0, 1), got "
                             f"{self.discriminator_learning_rate}.")
        if not 0 <= self.beta_1 < 1:
            raise InputError(f"--beta_1 must be in [0, 1), got {self.beta_1}.")
        if not 0 <= self.dropout_rate < 1:
            raise InputError(f"--dropout_rate must be in [0, 1), got {self.dropout_rate}.")
        if self.init_stddev is not None and not self.init_stddev > 0:
            raise InputError(f"--init_stddev must be positive, got {self.init_stddev}.")
        if not self.leaky_relu_slope >= 0:  # Keras' LeakyReLU refuses a negative slope.
            raise InputError(
                f"--leaky_relu_slope must be 0 or more, got {self.leaky_relu_slope}.")
        if not 0 <= self.label_smoothing < 0.5:
            raise InputError(
                f"--label_smoothing must be in [0, 0.5), got {self.label_smoothing}.")
        if self.label_smoothing and self.loss != "non_saturating":
            raise InputError(smoothing_error(self.loss))
        if not 0 <= self.ema_decay < 1:
            raise InputError(f"--ema_decay must be in [0, 1) (0 = off), got {self.ema_decay}.")
        if self.eval_samples < 10:  # evaluation.MIN_SAMPLES: k-NN and KID need a few.
            raise InputError(f"--eval_samples must be at least 10, got {self.eval_samples}.")
        if self.dataset == "folder" and not self.data_dir:
            raise InputError("--dataset=folder needs --data_dir, the folder of images.")

    @property
    def xla(self):
        """Whether the train step is compiled with XLA (jit_compile resolved)."""
        return self.strategy == "default" if self.jit_compile is None else self.jit_compile

    @property
    def d_learning_rate(self):
        """The discriminator's learning rate (discriminator_learning_rate resolved)."""
        if self.discriminator_learning_rate is None:
            return self.learning_rate
        return self.discriminator_learning_rate

    @property
    def image_shape(self):
        """(image_size, image_size, channels); only meaningful once resolved."""
        return (self.image_size, self.image_size, self.channels)

    def to_json(self):
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text):
        """Parses `to_json` output; unknown keys (from a newer version) are an error."""
        values = json.loads(text)
        if not isinstance(values, dict):
            raise InputError(f"expected a JSON object of settings, got {type(values).__name__}")
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputError(f"unknown settings {unknown}")
        return cls(**values)


def tutorial_preset(**overrides):
    """TensorFlow's DCGAN tutorial exactly: Adam(1e-4) for both networks with
    Keras' default beta_1 (0.9), Glorot-uniform init and LeakyReLU's default 0.3."""
    tutorial = dict(learning_rate=1e-4, beta_1=0.9, init_stddev=None, leaky_relu_slope=0.3)
    return dataclasses.replace(Config(), **{**tutorial, **overrides})


def dcgan_preset(**overrides):
    """The DCGAN paper (Radford et al., 2015, section 4): Adam(2e-4, beta_1=0.5),
    weights from N(0, 0.02), LeakyReLU slope 0.2. These are Config's defaults."""
    return dataclasses.replace(Config(), **overrides)


def preset(name, **overrides):
    """Returns the named preset's Config with `overrides` applied on top."""
    _check_choice("preset", name, PRESETS)
    return {"tutorial": tutorial_preset, "dcgan": dcgan_preset}[name](**overrides)


def resume_differences(old, new):
    """Lists 'name: old -> new' for every RESUME_FIELDS entry that differs."""
    return [f"{name}: {getattr(old, name)!r} -> {getattr(new, name)!r}"
            for name in RESUME_FIELDS if getattr(old, name) != getattr(new, name)]


def smoothing_error(loss):
    return (f"--label_smoothing applies to --loss=non_saturating only (a probability "
            f"target); --loss={loss} has no such target.")


def _check_choice(name, value, choices):
    if value not in choices:
        raise InputError(f"--{name}={value!r} is not supported; choose one of "
                         f"{', '.join(str(c) for c in choices)}.")
