"""Samples an exported generator: `python generate.py --model=runs/mnist/generator
--out=grid.png`.

Flags only: they build a `dcgan_tf.sampling.SamplingConfig` and hand it to
`dcgan_tf.sampling.run`. Only the SavedModel is needed, not the run's checkpoints.
"""

from absl import flags

from dcgan_tf import cli

USER_CHOSE_LOG_LEVEL = cli.quiet_native_logs()  # Before TensorFlow loads.

flags.DEFINE_string("model", None, "Exported generator (a SavedModel folder), e.g. "
                    "runs/mnist/generator.")
flags.DEFINE_string("out", None, "File to write: .png, a grid of the images; .npy, the "
                    "images as uint8 [num, H, W, C] in [0, 255]; .gif with --interpolate.")
flags.DEFINE_integer("num", 64, "Images to generate; with --interpolate, images per frame.")
flags.DEFINE_integer("seed", 0, "Seeds the noise; the same seed gives the same images.")
flags.DEFINE_integer("batch_size", 256, "Noise vectors per generator call; lower it if "
                     "memory runs out.")
flags.DEFINE_bool("interpolate", False, "Write a looping GIF in which each image walks "
                  "through --points random noise vectors along great circles (slerp).")
flags.DEFINE_integer("points", 4, "With --interpolate: random noise vectors on each "
                     "image's closed walk.")
flags.DEFINE_integer("steps", 16, "With --interpolate: frames from one point to the next.")
flags.DEFINE_float("fps", 10.0, "With --interpolate: frames per second of the GIF.")
flags.mark_flags_as_required(["model", "out"])

FLAGS = flags.FLAGS
SETTINGS = ("model", "out", "num", "seed", "batch_size", "interpolate", "points", "steps",
            "fps")


def main():
    cli.import_tensorflow(hide_start_up=not USER_CHOSE_LOG_LEVEL)
    from dcgan_tf import sampling

    sampling.run(sampling.SamplingConfig(**{name: FLAGS[name].value for name in SETTINGS}))


if __name__ == "__main__":
    cli.run(main, FLAGS)
