"""Run configuration: one frozen dataclass, built by keyword, with presets.

`train.py` turns its flags into a `Config`; everything in the library takes a
`Config` (or the few values it needs) and never reads flags itself. The config is
written to `<workdir>/config.json` so a run records exactly how it was made.
"""

import dataclasses
import json

from dcgan_tf.errors import InputError
from dcgan_tf.settings import check, normalize, setting



@dataclasses.dataclass(frozen=True)
class Dataset:
    """What the package knows of one --dataset, in one place (no TensorFlow).

    Attributes:
        image_size, channels: its images as distributed (a folder's: the default).
        keras_loader: its keras.datasets module, for a download; '' = none.
        keras_cache: where keras.datasets keeps the download, under
            ~/.keras/datasets (Keras 3 extracts CIFAR-10 into ...-target/;
            Keras 2 used cifar-10-batches-py/).
        system_dir: a Debian package's copy, with labels; '' = none.
        feature_shape: the image shape of its shipped feature network (the
            metrics' classifier); () = none shipped.
        num_classes: its labelled classes (--conditional); 0 = a folder's, one per
            class subfolder.
    """
    image_size: int
    channels: int
    keras_loader: str = ""
    keras_cache: tuple = ()
    system_dir: str = ""
    feature_shape: tuple = ()
    num_classes: int = 10


DATASET_TABLE = {
    "mnist": Dataset(28, 1, "mnist", ("mnist.npz",), feature_shape=(28, 28, 1)),
    "fashion_mnist": Dataset(28, 1, "fashion_mnist", ("fashion-mnist",),
                             "/usr/share/datasets/fashion-mnist", feature_shape=(28, 28, 1)),
    "cifar10": Dataset(32, 3, "cifar10", ("cifar-10-batches-py-target", "cifar-10-batches-py")),
    # Any size: its feature network is trained on the folder.
    "folder": Dataset(64, 3, num_classes=0),
}
DATASETS = tuple(DATASET_TABLE)
ARCHITECTURES = ("tutorial", "dcgan_paper")  # See dcgan_tf.models.
UPSAMPLE_MODES = ("transpose", "resize")
NAN_POLICIES = ("stop", "skip")
LR_DECAYS = ("none", "linear")  # See loop.learning_rates.
LOSSES = ("non_saturating", "hinge", "least_squares")  # See dcgan_tf.losses.
PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
STRATEGIES = ("default", "mirrored", "multi_worker")  # See dcgan_tf.distribute.
EVAL_DATASETS = tuple(name for name, known in DATASET_TABLE.items() if known.feature_shape)
FEATURE_KINDS = ("classifier", "random")  # Of a folder's feature network; folder_measure.py.
CONDITIONINGS = ("projection", "concat")  # How D sees the label; see dcgan_tf.models.
MAX_CLASSES = 1000
AUGMENTATIONS = ("color", "translation", "cutout")  # See dcgan_tf.augment.
EXPORT_FORMATS = ("saved_model", "litert", "onnx")  # See dcgan_tf.export.
IMAGE_SIZES = (28, 32, 64, 128)
CHANNELS = (1, 3)
MAX_SEED = 2**32 - 1  # NumPy's global seed, which keras.utils.set_random_seed sets.
# The upper bounds below (maximum=) are far above any sensible value and below where
# TensorFlow or memory fails with a crash instead of a message (a 2**63 - 1 shuffle
# buffer segfaults tf.data).


@dataclasses.dataclass(frozen=True)
class Config:
    """Everything a training run needs. Defaults are the `dcgan` preset.

    Each field is one train.py flag of the same name, declared once with
    `settings.setting`: its help text, choices, bounds, and whether a run
    directory made with another value can be resumed (resume=True: it cannot).
    """

    dataset: str = setting("mnist", "Training images: mnist, fashion_mnist, cifar10, or "
                           "'folder' (every png/jpg/bmp/gif under --data_dir, recursively: "
                           "CelebA or any photo set).",
                           choices=DATASETS, resume=True)
    data_dir: str = setting("", "A local copy of the data: IDX files (train-images-idx3-"
                            "ubyte[.gz]), a Keras .npz with x_train, CIFAR-10 python batches, "
                            "or the image folder of --dataset=folder.")
    workdir: str = setting("", "The run directory, for every artifact; '' = runs/<dataset> "
                           "(runs/<dataset>_conditional with --conditional).")
    download: bool = setting(True, "Let keras.datasets download the data when no local copy "
                             "is found.")
    epochs: int = setting(0, "Total epochs; a resumed run trains up to this many. 0 = the "
                          "epochs that show the networks about --image_budget images, so that "
                          "a run's length does not grow with the data set (the start log says "
                          "how many).",
                          minimum=0)
    image_budget: int = setting(500_000, "With --epochs=0, the training images a run shows "
                                "the networks: epochs = round(budget / images per epoch), at "
                                "least 1. 500,000 is 50 epochs of the bundled 10,000-image "
                                "MNIST sample and 8 of a 60,000-image training split.",
                                minimum=1)
    batch_size: int = setting(32, "Images per step (BATCH_SIZE; the tutorial's is 256); the "
                              "last partial batch of an epoch is dropped. 32 gave the best "
                              "samples per minute of training (docs/results.md).",
                              minimum=1, maximum=2**16, resume=True)
    buffer_size: int = setting(0, "Shuffle buffer in images (BUFFER_SIZE); 0 = the dataset "
                               "size, a full shuffle.",
                               minimum=0, maximum=2**31 - 1, resume=True)
    noise_dim: int = setting(100, "Length of the generator's input noise vector.",
                             minimum=1, maximum=2**14, resume=True)
    image_size: int = setting(0, "Side of the square images: 28, 32, 64 or 128; 0 = the "
                              "dataset's own (28 MNIST family, 32 CIFAR-10, 64 folder).",
                              choices=IMAGE_SIZES, resume=True)
    channels: int = setting(0, "1 (grayscale) or 3 (RGB); 0 = the dataset's own. Other "
                            "counts are converted (gray to RGB, RGB to luma).",
                            choices=CHANNELS, resume=True)
    conditional: bool = setting(False, "Class-conditional GAN: both networks see each image's "
                                "class label, and the generator draws the class it is asked "
                                "for (generate.py --label=7). Labels come with mnist, "
                                "fashion_mnist and cifar10, and from a folder's class "
                                "subfolders (one subfolder per class). See "
                                "docs/conditional.md.",
                                resume=True)
    conditioning: str = setting("projection", "With --conditional, how the discriminator "
                                "sees the label: 'projection' (Miyato and Koyama 2018: the "
                                "logit gains the inner product of a class embedding with D's "
                                "last features) or 'concat' (one-hot label maps stacked on "
                                "the image's channels). The generator always takes the "
                                "one-hot label concatenated to the noise.",
                                choices=CONDITIONINGS, resume=True)
    num_classes: int = setting(0, "With --conditional: the number of classes; 0 = the "
                               "dataset's own (10 for mnist, fashion_mnist, cifar10; a "
                               "folder's class subfolders).",
                               minimum=0, maximum=MAX_CLASSES, resume=True)
    architecture: str = setting("tutorial", "'tutorial': TensorFlow's DCGAN tutorial networks "
                                "(Dense to 7x7x256 or 4x4, LeakyReLU in G, Dropout and no "
                                "BatchNorm in D). 'dcgan_paper': the DCGAN paper's, as in "
                                "PyTorch's DCGAN example (ReLU in G; BatchNorm and LeakyReLU "
                                "in D, ending in a 4x4 valid convolution to the logit); "
                                "--preset=pytorch adds the rest of that recipe (4x4 kernels, "
                                "no Dropout, batch 64).",
                                choices=ARCHITECTURES, resume=True)
    generator_filters: int = setting(64, "With --architecture=dcgan_paper: filters of G's "
                                     "last hidden block (PyTorch's ngf); each block before "
                                     "it doubles them.",
                                     minimum=1, maximum=2**12, resume=True)
    discriminator_filters: int = setting(64, "With --architecture=dcgan_paper: filters of "
                                         "D's first block (PyTorch's ndf); each block after "
                                         "it doubles them.",
                                         minimum=1, maximum=2**12, resume=True)
    upsample: str = setting("resize", "Generator upsampling: 'resize' (nearest-neighbour "
                            "upsample, then Conv2D: no checkerboard artifacts, and the best "
                            "samples per minute of training in docs/results.md) or "
                            "'transpose' (the tutorial's Conv2DTranspose, faster per step).",
                            choices=UPSAMPLE_MODES, resume=True)
    kernel_size: int = setting(5, "Convolution kernel side in both networks (PyTorch's "
                               "DCGAN: 4, which the stride 2 divides).",
                               minimum=1, maximum=64, resume=True)
    init_stddev: float | None = setting(0.02, "Std of the N(0, s) weight init (BatchNorm "
                                        "gamma from N(1, s)); 0 = Keras' Glorot uniform.",
                                        above=0, none_flag=0, resume=True)
    leaky_relu_slope: float = setting(0.2, "Negative slope of every LeakyReLU.",
                                      minimum=0, resume=True)
    dropout_rate: float = setting(0.1, "Dropout after each discriminator block (the "
                                  "tutorial's: 0.3); 0 = none (the DCGAN paper has none).",
                                  minimum=0, below=1, resume=True)
    learning_rate: float = setting(2e-4, "Adam learning rate of the generator, and of the "
                                   "discriminator unless --discriminator_learning_rate is "
                                   "set.",
                                   above=0, below=1)
    discriminator_learning_rate: float | None = setting(
        None, "Adam learning rate of the discriminator alone (two time-scales, e.g. D faster "
        "than G); unset = --learning_rate.", above=0, below=1)
    beta_1: float = setting(0.5, "Adam beta_1 of both networks.",
                            minimum=0, below=1)
    lr_decay: str = setting("none", "'linear': both learning rates fall in a straight line "
                            "from their value at step 0 to 0 at the run's last step "
                            "(--epochs, or --max_steps); 'none' keeps them constant.",
                            choices=LR_DECAYS)
    seed: int = setting(0, "Seeds Python, NumPy and TensorFlow once; on CPU the same seed and "
                        "flags give the same losses.",
                        minimum=0, maximum=MAX_SEED, resume=True)
    max_steps: int = setting(0, "Stop after this many total steps (0 = no limit), still "
                             "writing every artifact; for smoke runs.",
                             minimum=0)
    checkpoint_every: int = setting(0, "Also checkpoint every N steps (0 = at epoch ends "
                                    "only, where checkpoints are always written).",
                                    minimum=0)
    num_examples_to_generate: int = setting(16, "Images in each progress frame (a square "
                                            "grid); with --conditional, one row per class "
                                            "of ceil(sqrt(N)) images.",
                                            minimum=1, maximum=1024, resume=True)
    nan_policy: str = setting("stop", "A step with a non-finite loss or gradient is never "
                              "applied; then 'stop' (exit status 3, the last good checkpoint "
                              "kept) or 'skip' the batch (20 in a row still stop).",
                              choices=NAN_POLICIES)
    loss: str = setting("non_saturating", "GAN loss: the tutorial's 'non_saturating' "
                        "cross-entropy, 'hinge', or 'least_squares' (LSGAN, targets 1/0 on "
                        "D's raw output); see dcgan_tf/losses.py.",
                        choices=LOSSES)
    label_smoothing: float = setting(0.0, "One-sided label smoothing: D's real targets "
                                     "become 1 - s, fakes stay 0; in [0, 0.5), "
                                     "non_saturating loss only.",
                                     minimum=0, below=0.5)
    ema_decay: float = setting(0.999, "0 = off; else keep an exponential moving average of the "
                               "generator (weights and BatchNorm statistics, decay warmed up "
                               "as min(d, (1+n)/(10+n))), checkpointed, and use it for the "
                               "progress frames, --eval_every and the export. Training itself "
                               "is unchanged; the average gave clearly better samples "
                               "(docs/results.md).",
                               minimum=0, below=1)
    augment: str = setting("", "DiffAugment (Zhao et al. 2020) for small data sets: "
                           "comma-separated transforms applied to every image the "
                           "discriminator sees, real and generated, inside the step: "
                           "color, translation, cutout (e.g. 'color,translation,cutout'); "
                           "'' = off. The generator and its export never augment.")
    export_formats: str = setting("", "Comma-separated formats the generator is exported in: "
                                  "saved_model (generator/, always written), litert "
                                  "(generator.tflite), onnx (generator.onnx, with `pip "
                                  "install '.[onnx]'`); '' = every installed format. Each is "
                                  "checked against the SavedModel where it is written; one "
                                  "that fails is named in a warning and left out.")
    eval_every: int = setting(0, "Every N epochs, measure sample quality (Fréchet distance, "
                              "KID, precision, recall, class coverage) as evaluate.py does, "
                              "into metrics.csv and TensorBoard; 0 = off. MNIST and "
                              "Fashion-MNIST at 28x28, and image folders at any size "
                              "(a feature network trained on the folder, "
                              "dcgan_tf/folder_measure.py).",
                              minimum=0)
    eval_samples: int = setting(2000, "Generated images per --eval_every measurement (at "
                                "least 10).",
                                minimum=10)
    steps_per_call: int = setting(1, "Training steps per call of the compiled loop: Python and "
                                  "launch overhead is paid once per call (for small models on "
                                  "fast GPUs); progress, signals and --checkpoint_every are "
                                  "handled between calls.",
                                  minimum=1)
    jit_compile: bool | None = setting(None, "Compile the train step with XLA (see "
                                       "docs/performance.md). Unset = on when a GPU is "
                                       "visible and --strategy=default; off on CPUs (it ran "
                                       "0.65x to 1.2x as fast there, depending on the CPU) "
                                       "and with the distributed strategies, which it does "
                                       "not support.")
    precision: str = setting("auto", "'auto': mixed_bfloat16 on a CPU with bfloat16 matrix "
                             "units (AMX or AVX512-BF16) and no GPU, where it trains the "
                             "defaults faster to the same quality (docs/performance.md); "
                             "float32 elsewhere; a resumed run keeps the precision it was made with. "
                             "'float32'; 'mixed_float16' (dynamic loss scaling per network) or "
                             "'mixed_bfloat16': 16-bit compute, float32 weights, BatchNorm "
                             "statistics, logits and losses (mixed_float16 for GPUs with "
                             "tensor cores). The start log says which was chosen and why; "
                             "the export is float32.",
                             choices=PRECISIONS, resume=True)
    strategy: str = setting("default", "tf.distribute: 'mirrored' = every GPU of this machine, "
                            "'multi_worker' = the machines in TF_CONFIG (the same command on "
                            "each); --batch_size is the global batch.",
                            choices=STRATEGIES)
    sync_batchnorm: bool = setting(False, "BatchNorm statistics over the global batch rather "
                                   "than each replica's share (with several replicas).")

    def __post_init__(self):
        normalize(self)  # init_stddev=0 means None (Keras' initializer), as its flag does.
        check(self)  # Each field's declared choices and bounds.
        if self.jit_compile is True and self.strategy != "default":
            raise InputError(f"--jit_compile works with --strategy=default only, not "
                             f"--strategy={self.strategy}.")
        check_loss(self.loss, self.label_smoothing)
        augment_names(self.augment)
        export_format_names(self.export_formats)
        if self.num_classes and not self.conditional:
            raise InputError(f"--num_classes={self.num_classes} applies to --conditional "
                             "runs only; add --conditional or leave it at 0.")
        if self.dataset == "folder" and not self.data_dir:
            raise InputError("--dataset=folder needs --data_dir, the folder of images.")

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


# TensorFlow's DCGAN tutorial, exactly: every setting it fixes, so that a change
# of the defaults never changes this preset.
TUTORIAL = dict(architecture="tutorial", batch_size=256, upsample="transpose", kernel_size=5,
                learning_rate=1e-4, discriminator_learning_rate=None, beta_1=0.9,
                init_stddev=None, leaky_relu_slope=0.3, dropout_rate=0.3,
                loss="non_saturating", label_smoothing=0.0, ema_decay=0.0,
                precision="float32", epochs=50)
# PyTorch's DCGAN example notebook (pytorch/examples dcgan; the tutorial at
# pytorch.org/tutorials/beginner/dcgan_faces_tutorial.html): the paper's networks,
# N(0, 0.02) init, Adam(2e-4, betas (0.5, 0.999)), BCE loss, batch 64.
PYTORCH = dict(architecture="dcgan_paper", batch_size=64, upsample="transpose", kernel_size=4,
               learning_rate=2e-4, discriminator_learning_rate=None, beta_1=0.5,
               init_stddev=0.02, leaky_relu_slope=0.2, dropout_rate=0.0,
               loss="non_saturating", label_smoothing=0.0, ema_decay=0.0,
               precision="float32")  # As measured; bfloat16 was measured for dcgan only.
# For a few thousand colour images of your own (--dataset=folder's default): PyTorch's
# recipe at half width, 32 filters in G's last block and D's first instead of 64. At
# 64x64 on a CPU it takes about a quarter of the arithmetic per step, so several times
# the steps in the same time; on 3,786 emoji it scored several times better than the full
# width in the same minutes, every seed (docs/results.md, benchmarks/small_data.py).
COLOUR = dict(PYTORCH, generator_filters=32, discriminator_filters=32,
              image_budget=300_000)  # 80 epochs of the 3,786 emoji, as measured.
PRESET_SOURCES = {
    "dcgan": "The defaults: the tutorial's networks with resize-convolution upsampling and "
             "Dropout 0.1, the DCGAN paper's optimizer and init, batch 32, exporting a moving "
             "average of the generator (docs/results.md shows the evidence).",
    "tutorial": "TensorFlow's DCGAN tutorial, exactly.",
    "pytorch": "PyTorch's DCGAN example: the paper's architecture, batch 64.",
    "colour": "The default for --dataset=folder: PyTorch's recipe at half width (32 filters "
              "in G and D), the best measured on a few thousand 64x64 colour images.",
}


def dcgan_preset(**overrides):
    """The default settings (Config's own defaults) with `overrides` on top."""
    return dataclasses.replace(Config(), **overrides)


def tutorial_preset(**overrides):
    """TensorFlow's DCGAN tutorial exactly: its networks, Adam(1e-4) for both with
    Keras' default beta_1 (0.9), Glorot-uniform init, LeakyReLU's default 0.3, batch 256."""
    return dataclasses.replace(Config(), **{**TUTORIAL, **overrides})


def pytorch_preset(**overrides):
    """PyTorch's DCGAN example: --architecture=dcgan_paper, N(0, 0.02) init,
    Adam(2e-4, beta_1=0.5), batch 64."""
    return dataclasses.replace(Config(), **{**PYTORCH, **overrides})


def colour_preset(**overrides):
    """PyTorch's recipe with 32 filters in G and D (COLOUR): --dataset=folder's default."""
    return dataclasses.replace(Config(), **{**COLOUR, **overrides})


PRESETS = {"dcgan": dcgan_preset, "tutorial": tutorial_preset, "pytorch": pytorch_preset,
           "colour": colour_preset}


def default_preset(dataset):
    """The preset a run gets without --preset: 'colour' for an image folder, else
    'dcgan' (the settings measured on MNIST)."""
    return "colour" if dataset == "folder" else "dcgan"


def preset(name, **overrides):
    """Returns the named preset's Config with `overrides` applied on top."""
    _check_choice("preset", name, tuple(PRESETS))
    return PRESETS[name](**overrides)


def check_loss(loss, label_smoothing):
    """Raises InputError unless `loss` is one of LOSSES and the smoothing fits it."""
    _check_choice("loss", loss, LOSSES)
    if not 0 <= label_smoothing < 0.5:
        raise InputError(f"--label_smoothing must be in [0, 0.5), got {label_smoothing}.")
    if label_smoothing and loss != "non_saturating":
        raise InputError(f"--label_smoothing applies to --loss=non_saturating only (a "
                         f"probability target); --loss={loss} has no such target.")


def augment_names(policy):
    """'color, cutout' -> ('color', 'cutout'); '' -> (). Raises InputError on an
    unknown or repeated name."""
    names = tuple(name.strip() for name in policy.split(",") if name.strip())
    for name in names:
        if name not in AUGMENTATIONS:
            raise InputError(f"--augment={policy!r}: unknown transform {name!r}; use a "
                             f"comma-separated list of {', '.join(AUGMENTATIONS)}, or '' "
                             "for none.")
    if len(set(names)) != len(names):
        raise InputError(f"--augment={policy!r}: names a transform twice.")
    return names


def export_format_names(text):
    """'litert, onnx' -> ('litert', 'onnx'); '' -> (). Raises InputError on an
    unknown or repeated name."""
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in EXPORT_FORMATS]
    if unknown or len(set(names)) != len(names):
        raise InputError(f"--export_formats={text!r}: use a comma-separated list of "
                         f"{', '.join(EXPORT_FORMATS)} (each once), or '' for every "
                         "installed format.")
    return names


def _check_choice(name, value, choices):
    if value not in choices:
        raise InputError(f"--{name}={value!r} is not supported; choose one of "
                         f"{', '.join(str(c) for c in choices)}.")
