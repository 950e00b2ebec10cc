"""What generate.py and evaluate.py take: one declaration per setting, no TensorFlow.

Each field is the tool's flag of the same name (`settings.define_flags`), checked
on construction, before any model loads. `sampling.run` and `evaluation.run` take
these objects; a notebook builds them by keyword.
"""

import dataclasses
import os

from dcgan_tf.config import EVAL_DATASETS, FEATURE_KINDS
from dcgan_tf.errors import InputError
from dcgan_tf.settings import check, setting

SAMPLE_FORMATS = (".png", ".npy")  # What sampling.write_samples writes.
WALK_FORMATS = (".gif",)  # What sampling.write_walk writes.
MAX_IMAGES = 200_000  # Per generate.py call; all of them are held in memory.
MIN_SAMPLES = 10  # Below this, precision/recall (k = 3) and KID are meaningless.
MODEL_HELP = ("Exported generator: a SavedModel folder (e.g. runs/mnist/generator), or the "
              "run's generator.tflite or generator.onnx.")


@dataclasses.dataclass(frozen=True)
class SamplingConfig:
    """One call of generate.py."""

    model: str = setting("", MODEL_HELP)
    out: str = setting("", "File to write: .png, a grid of the images; .npy, the images as "
                       "uint8 [num, H, W, C] in [0, 255]; .gif with --interpolate.")
    num: int = setting(64, "Images to generate; with --interpolate, images per frame.",
                       minimum=1)
    seed: int = setting(0, "Seeds the noise; the same seed gives the same images.", minimum=0)
    batch_size: int = setting(256, "Noise vectors per generator call; lower it if memory "
                              "runs out.", minimum=1)
    interpolate: bool = setting(False, "Write a looping GIF in which each image walks "
                                "through --points random noise vectors along great circles "
                                "(slerp).")
    points: int = setting(4, "With --interpolate: random noise vectors on each image's "
                          "closed walk.", minimum=2)
    steps: int = setting(16, "With --interpolate: frames from one point to the next.",
                         minimum=1)
    # Browsers play GIF frame delays under 0.02 s as 0.1 s, so faster is slower.
    fps: float = setting(10.0, "With --interpolate: frames per second of the GIF.", above=0,
                         maximum=50)
    label: int | None = setting(None, "A conditional generator (train.py --conditional): "
                                "draw --num images of this class (with --interpolate: walk "
                                "within it).", minimum=0)
    labels: str = setting("", "A conditional generator: comma-separated classes, one grid "
                          "row of --num images each, the same noise down every column; '' "
                          "= every class (without --label).")

    def __post_init__(self):
        if not self.model:
            raise InputError("--model is required: the exported generator folder, "
                             "e.g. runs/mnist/generator.")
        check(self)
        if self.label is not None and self.labels:
            raise InputError(f"--label={self.label} and --labels={self.labels}: pass one.")
        self.label_list()  # Raises on a malformed list.
        # The images are held in memory (float32): 10**6 64x64 RGB images are 49 GB.
        if self.num * (self.points * self.steps if self.interpolate else 1) > MAX_IMAGES:
            raise InputError(f"--num={self.num}"
                             + (" x --points x --steps" if self.interpolate else "")
                             + f" asks for more than {MAX_IMAGES:,} images; write them in "
                             "several runs (with different --seed).")
        formats = WALK_FORMATS if self.interpolate else SAMPLE_FORMATS
        extension = os.path.splitext(self.out)[1].lower()
        if extension not in formats:
            hint = (" (--interpolate writes a GIF)" if self.interpolate else
                    " (a .gif needs --interpolate)" if extension == ".gif" else "")
            raise InputError(f"--out={self.out}: unsupported file type{hint}; "
                             f"use {' or '.join(formats)}.")


    def label_list(self):
        """--labels as a tuple of ints; () when unset."""
        try:
            classes = tuple(int(text) for text in self.labels.split(",") if text.strip())
        except ValueError:
            classes = (-1,)
        if any(k < 0 for k in classes):
            raise InputError(f"--labels={self.labels}: use comma-separated class numbers "
                             "from 0, e.g. 0,1,7.")
        return classes


@dataclasses.dataclass(frozen=True)
class EvalConfig:
    """One call of evaluate.py."""

    model: str = setting("", MODEL_HELP)
    dataset: str = setting("", f"{', '.join(EVAL_DATASETS)} or folder: the real images and "
                           "feature network to compare with. Default: the dataset in the "
                           "run's config.json next to --model.")
    num: int = setting(10000, "Images to generate and measure; the real-vs-real floor uses as "
                       "many real training images where the split has them.",
                       minimum=MIN_SAMPLES)
    seed: int = setting(0, "Seeds the noise, the floor's real subset and KID's subsets.",
                        minimum=0)
    batch_size: int = setting(256, "Noise vectors per generator call.", minimum=1)
    out: str = setting("", "JSON file for every value and count. Default: metrics.json "
                       "beside the model folder (<model>/../metrics.json).")
    data_dir: str = setting("", "Fashion-MNIST's IDX files (images and labels), if not in "
                            "/usr/share/datasets/fashion-mnist or Keras' cache; for a folder "
                            "run, the image folder (default: the run's --data_dir).")
    features: str = setting("", "Folder runs: the feature network, 'classifier' (trained on "
                            "the folder's class subfolders) or 'random' (seeded, untrained); "
                            "'' = classifier when the folder has class subfolders.",
                            choices=FEATURE_KINDS)
    images: str = setting("", "Measure this folder of real images instead of a generator "
                          "(with --dataset, --data_dir and --out), e.g. another artwork of "
                          "the same emoji against the training set.")
    image_size: int = setting(64, "With --images: the side the images are read at.",
                              minimum=1)

    def __post_init__(self):
        if bool(self.model) == bool(self.images):
            raise InputError("Pass --model=<generator SavedModel> or --images=<folder of "
                             "images>, one of the two.")
        if self.images and not self.out:
            raise InputError("--images: pass --out=<file.json> for the results.")
        if self.dataset not in ("", *EVAL_DATASETS, "folder"):
            raise InputError(f"--dataset={self.dataset}: no feature network for it; quality "
                             f"is measured for {' and '.join(EVAL_DATASETS)} and for image "
                             "folders (--dataset=folder).")
        check(self)
