"""Trains a DCGAN: `python train.py --dataset=mnist`.

Flags only: they build a `dcgan_tf.config.Config` and hand it to
`dcgan_tf.training.train`. A second run with the same --workdir resumes.
"""

import os
import signal
import sys

# Until training starts there is nothing to save, so Ctrl-C leaves at once and
# quietly, not with a traceback from whichever import it interrupted (or not at
# all, when a library's bare `except:` swallows the KeyboardInterrupt). The
# training loop installs its own handler, which saves first.
signal.signal(signal.SIGINT, lambda number, frame: os._exit(128 + number))
# Hide TensorFlow's C++ start-up notices (CPU features, missing CUDA); keep warnings.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")

from absl import flags, logging  # noqa: E402

# No TensorFlow yet: --help and a mistyped flag answer at once; main() imports it.
from dcgan_tf import cli  # noqa: E402
from dcgan_tf import config as config_lib  # noqa: E402
from dcgan_tf.interrupts import TrainingInterrupted  # noqa: E402

flags.DEFINE_enum("dataset", "mnist", config_lib.DATASETS, "Training images. 'folder' "
                  "reads every png/jpg/bmp/gif under --data_dir (e.g. CelebA).")
flags.DEFINE_string("data_dir", "", "Local copy of the data: IDX files, a Keras .npz, "
                    "CIFAR-10 python batches, or a folder of images for --dataset=folder.")
flags.DEFINE_string("workdir", "", "Run directory for every artifact. Default: runs/<dataset>.")
flags.DEFINE_bool("download", True, "Let keras.datasets download the data when no local "
                  "copy is found.")
flags.DEFINE_enum("preset", "dcgan", config_lib.PRESETS, "'dcgan': the DCGAN paper's "
                  "Adam(2e-4, beta_1=0.5), N(0, 0.02) init, LeakyReLU 0.2. 'tutorial': the "
                  "TF tutorial's Adam(1e-4), Glorot init, LeakyReLU 0.3. Flags below override it.")
flags.DEFINE_integer("epochs", 50, "Total epochs; a resumed run trains up to this many.")
flags.DEFINE_integer("batch_size", 256, "Images per step (BATCH_SIZE); the last partial "
                     "batch of an epoch is dropped.")
flags.DEFINE_integer("buffer_size", 0, "Shuffle buffer in images (BUFFER_SIZE); 0 = the "
                     "dataset size, a full shuffle.")
flags.DEFINE_integer("noise_dim", 100, "Length of the generator's noise vector.")
flags.DEFINE_float("learning_rate", None, "Adam learning rate for both networks "
                   "(default: the preset's).")
flags.DEFINE_float("discriminator_learning_rate", None, "Adam learning rate of the "
                   "discriminator alone (two time-scales, e.g. D faster than G); default: "
                   "--learning_rate.")
flags.DEFINE_float("beta_1", None, "Adam beta_1 for both networks (default: the preset's).")
flags.DEFINE_float("init_stddev", None, "Std of the N(0, s) weight init; 0 = Keras' Glorot "
                   "uniform (default: the preset's).")
flags.DEFINE_float("leaky_relu_slope", None, "LeakyReLU negative slope (default: the preset's).")
flags.DEFINE_float("dropout_rate", None, "Dropout rate after each discriminator "
                   "convolution; 0 = none (default: the preset's; the tutorial's is 0.3).")
flags.DEFINE_integer("image_size", 0, "Side of the square images: 28, 32, 64 or 128; "
                     "0 = the dataset's own (28 MNIST, 32 CIFAR-10, 64 folder).")
flags.DEFINE_integer("channels", 0, "1 (grayscale) or 3 (RGB); 0 = the dataset's own.")
flags.DEFINE_enum("upsample", "transpose", config_lib.UPSAMPLE_MODES, "Generator upsampling: "
                  "Conv2DTranspose, or 'resize' (nearest upsample + Conv2D, no checkerboard).")
flags.DEFINE_integer("kernel_size", 5, "Convolution kernel side in both networks.")
flags.DEFINE_integer("seed", 0, "Seeds Python, NumPy and TensorFlow; same seed and flags "
                     "give the same losses on CPU.")
flags.DEFINE_integer("max_steps", 0, "Stop after this many total steps (0 = no limit), "
                     "still writing every artifact; for smoke runs.")
flags.DEFINE_integer("checkpoint_every", 0, "Also checkpoint every N steps (0 = at the end "
                     "of each epoch only).")
flags.DEFINE_integer("num_examples_to_generate", 16, "Images in each progress frame.")
flags.DEFINE_enum("nan_policy", "stop", config_lib.NAN_POLICIES, "A step with a non-finite "
                  "loss or gradient is never applied; then 'stop' (exit status 3, last good "
                  "checkpoint kept) or 'skip' the batch and go on.")
flags.DEFINE_enum("loss", "non_saturating", config_lib.LOSSES, "GAN loss: the tutorial's "
                  "'non_saturating' cross-entropy, 'hinge', or 'least_squares' (LSGAN, "
                  "targets 1/0 on D's raw output).")
flags.DEFINE_float("label_smoothing", 0.0, "One-sided label smoothing: D's real targets "
                   "become 1 - s, fakes stay 0; in [0, 0.5), non_saturating loss only.")
flags.DEFINE_float("ema_decay", 0.0, "0 = off; else keep an exponential moving average "
                   "of the generator's weights (e.g. 0.999) and use it for the progress "
                   "frames, --eval_every and the exported generator.")
flags.DEFINE_integer("eval_every", 0, "Measure sample quality (Fréchet distance, KID, "
                     "precision, recall, class coverage) every N epochs into metrics.csv "
                     "and TensorBoard; 0 = off. MNIST and Fashion-MNIST at 28x28 only.")
flags.DEFINE_integer("eval_samples", 2000, "Generated images per --eval_every measurement.")
flags.DEFINE_integer("steps_per_call", 1, "Training steps per call of the compiled loop: "
                     "Python and launch overhead is paid once per call (helps small models "
                     "on fast GPUs; see docs/performance.md).")
flags.DEFINE_bool("jit_compile", None, "Compile the train step with XLA (on 2 CPU cores: "
                  "1.2x at batch 64, even at 256; see docs/performance.md). Default: on with "
                  "--strategy=default, off with the distributed strategies, which it does "
                  "not support.")
flags.DEFINE_enum("precision", "float32", config_lib.PRECISIONS, "Compute precision: "
                  "mixed_float16 (with dynamic loss scaling per network) or mixed_bfloat16 "
                  "keep float32 weights, BatchNorm statistics, logits and losses; they pay "
                  "on GPUs with tensor cores, not on CPUs.")
flags.DEFINE_enum("strategy", "default", config_lib.STRATEGIES, "tf.distribute strategy: "
                  "'mirrored' = every GPU of this machine; 'multi_worker' = the machines in "
                  "TF_CONFIG (run the same command on each). --batch_size is the global batch.")
flags.DEFINE_bool("sync_batchnorm", False, "BatchNorm statistics over the global batch "
                  "rather than each replica's share (with several replicas).")
flags.DEFINE_bool("overwrite", False, "Discard the run already in --workdir (its checkpoints, "
                  "samples, logs and generator) and start from step 0.")

FLAGS = flags.FLAGS
# Flags that may be left unset to take the preset's value.
PRESET_OVERRIDES = ("learning_rate", "beta_1", "init_stddev", "leaky_relu_slope",
                    "dropout_rate")
SETTINGS = ("dataset", "data_dir", "workdir", "download", "epochs", "batch_size",
            "discriminator_learning_rate",
            "buffer_size", "noise_dim", "image_size", "channels", "upsample", "kernel_size",
            "seed", "max_steps", "checkpoint_every", "num_examples_to_generate", "nan_policy",
            "loss", "label_smoothing", "ema_decay", "eval_every", "eval_samples",
            "steps_per_call", "jit_compile", "precision", "strategy", "sync_batchnorm")


def config_from_flags():
    overrides = {name: FLAGS[name].value for name in SETTINGS}
    for name in PRESET_OVERRIDES:
        if FLAGS[name].value is not None:
            overrides[name] = FLAGS[name].value
    if overrides.get("init_stddev") == 0:
        overrides["init_stddev"] = None
    return config_lib.preset(FLAGS.preset, **overrides)


def main():
    config = config_from_flags()
    from dcgan_tf import training  # Loads TensorFlow (seconds).

    try:
        training.train(config, overwrite=FLAGS.overwrite)
    except TrainingInterrupted as e:
        resume = " ".join(arg for arg in sys.argv if arg != "--overwrite")
        logging.warning("Training %s; everything is saved. To resume, run the same "
                        "command again:\n  python %s", e, resume)
        sys.exit(e.exit_status)
    except training.TrainingDiverged as e:
        logging.error("Training diverged: %s", e)
        sys.exit(3)


if __name__ == "__main__":
    cli.run(main, FLAGS)
