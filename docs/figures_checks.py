"""Tables that check common learner beliefs against the package: no training.

Sections of docs/figures.py (each returns (numbers, blocks)):

  normalize_others.md   Q2   other Normalize(mean, std) values: the range each gives MNIST
                             and how much of it a tanh generator can reach
  stride_information.md Q10  do strided convolutions lose information? values in and out
                             of D's layers, and a stride-2 convolution undone exactly
  batchnorm_noise.md    Q5   does BatchNorm add noise to the input? one image's output in
                             two different batches
  nonlinearity.md       Q1   why non-linear activations: two linear layers are one; the
                             gradients of ReLU and LeakyReLU at 0 in TensorFlow
  fake_gradients.md     Q9   are fake-looking images discarded? the gradient each fake
                             gives G, by D's score
  celeba_crop.png, .md  (docs/pytorch.md) a CelebA-sized 178x218 photo to 64x64, the
                             way dcgan_tf's folder reader does it and the way PyTorch's
                             Resize(64) + CenterCrop(64) does it
"""

import os
import tempfile


import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from PIL import Image

from dcgan_tf import config as config_lib, data, losses, models, readers
from figures_common import markdown_table, save_figure

PHOTO = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests",
                     "data", "photos", "astronaut_00.jpg")
CELEBA_SIZE = (178, 218)  # Width x height of CelebA's aligned-and-cropped JPEGs.

# (name, mean, std) as torchvision's Normalize takes them, after ToTensor's x / 255.
NORMALIZE_CHOICES = (("Normalize(0.5, 0.5), the DCGAN examples'", 0.5, 0.5),
                     ("ToTensor() alone (no Normalize)", 0.0, 1.0),
                     ("Normalize(0.1307, 0.3081), MNIST's mean and std", 0.1307, 0.3081),
                     ("Normalize(0.485, 0.229), ImageNet's red channel", 0.485, 0.229))


def _digits(count):
    return data.read_local_copy(data.BUNDLED_MNIST_DIR).images[:count]


def normalize_others(out_dir, quick, seed):
    """What the bundled MNIST pixels become under other Normalize values, against
    the [-1, 1] a tanh output can reach."""
    del out_dir, seed
    pixels = _digits(500 if quick else 10000).astype(np.float64) / 255.0
    rows, numbers = [], {}
    for name, mean, std in NORMALIZE_CHOICES:
        low, high = (0.0 - mean) / std, (1.0 - mean) / std
        values = (pixels - mean) / std
        unreachable = float(np.mean((values < -1) | (values > 1)))
        used = (min(high, 1.0) - max(low, -1.0)) / 2.0  # Share of tanh's range real data uses.
        numbers[name] = {"low": low, "high": high, "unreachable": unreachable,
                         "tanh_range_used": used}
        rows.append([name, f"[{low:.2f}, {high:.2f}]", f"{100 * unreachable:.1f}%",
                     f"{100 * max(used, 0.0):.0f}%"])
    block = markdown_table(["transform of x / 255", "range of real pixels",
                            "real MNIST pixels a tanh output cannot reach",
                            "share of tanh's [-1, 1] inside the real range"], rows)
    block += (f"\nComputed on {pixels.size:,} pixels of the bundled MNIST sample "
              f"({len(pixels):,} digits).\n")
    return numbers, {"normalize_others": block}


def stride_information(out_dir, quick, seed):
    """D's layers' sizes (values in, values out), and a stride-2 convolution whose
    four filters pick the four pixels of each 2x2 window, undone by the transposed
    convolution with the same kernel: the digit comes back exactly."""
    del out_dir, quick
    cfg = config_lib.tutorial_preset(image_size=28, channels=1)
    discriminator = models.build_discriminator(cfg)
    rows, previous = [], 28 * 28 * 1
    rows.append(["input image", "28x28x1", f"{previous:,}", ""])
    for layer in discriminator.layers:
        if isinstance(layer, keras.layers.Conv2D):
            shape = layer.output.shape[1:]
            size = int(np.prod(shape))
            rows.append([f"{layer.name} (stride {layer.strides[0]})",
                         "x".join(map(str, shape)), f"{size:,}", f"{size / previous:.1f}x"])
            previous = size
    table = markdown_table(["D's layer (tutorial preset)", "output", "values", "vs the layer "
                            "before"], rows)

    # Space-to-depth as a stride-2 convolution: filter k is 1 at one of the 2x2
    # positions. No value is dropped, so the transposed convolution puts each back.
    kernel = np.zeros((2, 2, 1, 4), np.float32)
    for k, (row, column) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
        kernel[row, column, 0, k] = 1.0
    digit = data.normalize(_digits(1)).numpy()
    down = tf.nn.conv2d(digit, kernel, strides=2, padding="VALID")
    back = tf.nn.conv2d_transpose(down, kernel, output_shape=digit.shape, strides=2,
                                  padding="VALID")
    error = float(np.abs(back.numpy() - digit).max())
    if error > 0:
        raise AssertionError(f"the stride-2 convolution was not undone exactly: {error}")
    block = table + (
        f"\nA stride-2 convolution with four 2x2 filters, each picking one pixel of the "
        f"window, turns a 28x28x1 digit into 14x14x4 ({int(np.prod(down.shape)):,} values, "
        f"as many as went in); the transposed convolution with the same kernel gives the digit "
        f"back with largest difference {error:g}.\n")
    return {"error": error, "layers": rows}, {"stride_information": block}


def batchnorm_noise(out_dir, quick, seed):
    """One noise vector through an untrained generator in two batches of different
    companions: in training mode its image changes with the batch, in inference
    mode it does not. BatchNorm normalises activations; nothing is added to the input."""
    del out_dir, quick
    keras.utils.set_random_seed(seed)
    cfg = config_lib.tutorial_preset(image_size=28, channels=1, noise_dim=100)
    generator = models.build_generator(cfg)
    rng = np.random.default_rng(seed)
    one = rng.standard_normal((1, 100)).astype(np.float32)
    batches = [np.concatenate([one, rng.standard_normal((31, 100)).astype(np.float32)])
               for _ in range(2)]
    rows, numbers = [], {}
    for mode, training in (("training (batch statistics)", True),
                           ("inference (moving averages)", False)):
        first, second = (generator(batch, training=training).numpy()[0] for batch in batches)
        alone = generator(one, training=False).numpy()[0] if not training else None
        change = float(np.abs(first - second).mean())
        numbers[mode] = change
        rows.append([mode, f"{change:.4f}",
                     "" if alone is None else f"{float(np.abs(first - alone).max()):.1g}"])
    block = markdown_table(["BatchNorm mode", "mean absolute difference of one image's "
                            "pixels between two batches", "largest difference from the image made "
                            "alone"], rows)
    block += ("\nThe same noise vector, batched with 31 other vectors twice (different ones), "
              "through the tutorial's untrained generator (pixels in [-1, 1]).\n")
    return numbers, {"batchnorm_noise": block}


def nonlinearity(out_dir, quick, seed):
    """Two Dense layers without activation equal one Dense layer (their kernels'
    product); and TensorFlow's gradients of ReLU and LeakyReLU at exactly 0."""
    del out_dir, quick
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((64, 100)).astype(np.float32)
    first, second = (rng.standard_normal(shape).astype(np.float32) * 0.1
                     for shape in ((100, 256), (256, 784)))
    stacked = (x @ first) @ second
    merged = x @ (first @ second)
    linear_gap = float(np.abs(stacked - merged).max() / np.abs(stacked).max())
    with_relu = np.maximum(x @ first, 0) @ second
    relu_gap = float(np.abs(with_relu - merged).max() / np.abs(with_relu).max())
    zero = tf.constant([0.0, -1.0, 1.0])
    gradients = {}
    for name, activation in (("ReLU", tf.nn.relu),
                             ("LeakyReLU(0.2)", keras.layers.LeakyReLU(negative_slope=0.2))):
        with tf.GradientTape() as tape:
            tape.watch(zero)
            value = activation(zero)
        gradients[name] = tape.gradient(value, zero).numpy().tolist()
    rows = [[name, f"{grads[0]:g}", f"{grads[1]:g}", f"{grads[2]:g}"]
            for name, grads in gradients.items()]
    block = (f"Two Dense layers without activation (100 → 256 → 784) against one layer with "
             f"their kernels' product: largest difference {linear_gap:.1g} of the output's "
             f"scale (float32 rounding: the same map). With a ReLU between them: "
             f"{relu_gap:.2f}, a different map.\n\n"
             + markdown_table(["TensorFlow's gradient", "at x = 0", "at x = -1", "at x = 1"],
                              rows))
    return {"linear_gap": linear_gap, "relu_gap": relu_gap, "gradients": gradients}, \
        {"nonlinearity": block}


def fake_gradients(out_dir, quick, seed):
    """The non-saturating generator loss's gradient for single fakes, by D's score:
    the fakes D rejects most give G the largest push, none is dropped."""
    del out_dir, quick, seed
    scores = np.array([0.001, 0.01, 0.1, 0.5, 0.9, 0.99], np.float32)
    logits = tf.constant(np.log(scores / (1 - scores))[:, None])
    with tf.GradientTape() as tape:
        tape.watch(logits)
        total = tf.add_n([losses.generator_loss(logits[i:i + 1]) for i in range(len(scores))])
    gradient = -tape.gradient(total, logits).numpy()[:, 0]
    rows = [[f"{score:g}", f"{push:.3f}"] for score, push in zip(scores, gradient)]
    block = markdown_table(["D(G(z)) for one fake", "-d loss / d logit: how hard G is pushed to "
                            "change it"], rows)
    return {"gradient": gradient.tolist()}, {"fake_gradients": block}


def celeba_crop(out_dir, quick, seed):
    """A 178x218 photo (a test photo enlarged to CelebA's size) to 64x64 twice: by
    readers.load_image (centre square, then Lanczos resize) and as PyTorch's DCGAN
    example does (Resize(64): shorter side to 64, bilinear; then CenterCrop(64)),
    in PIL. Both keep the middle square; they differ by resampling only."""
    del quick, seed
    photo = Image.open(PHOTO).convert("RGB").resize(CELEBA_SIZE, Image.Resampling.BICUBIC)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "face.png")
        photo.save(path)
        ours = readers.load_image(path, 64, 3)
    width, height = CELEBA_SIZE
    resized = photo.resize((64, round(height * 64 / width)), Image.Resampling.BILINEAR)
    top = round((resized.height - 64) / 2)  # torchvision's CenterCrop rounds the same way.
    theirs = np.asarray(resized.crop((0, top, 64, top + 64)))
    difference = float(np.abs(ours.astype(float) - theirs).mean())
    ours_rows = (height - width) // 2
    theirs_rows = top * height / resized.height
    figure, axes = plt.subplots(1, 3, figsize=(7.5, 3.4),
                                gridspec_kw={"width_ratios": [178, 218, 218]})
    for axis, (picture, title) in zip(axes, (
            (photo, f"{width}x{height}"), (ours, "dcgan_tf: crop, then resize"),
            (theirs, "Resize(64), CenterCrop(64)"))):
        axis.imshow(picture)
        axis.set(title=title, xticks=[], yticks=[])
    save_figure(figure, out_dir, "celeba_crop.png")
    block = (f"dcgan_tf cuts {ours_rows} rows from the top and bottom of the {width}x{height} "
             f"image, PyTorch's transforms {theirs_rows:.1f} (in the original's rows); the two "
             f"64x64 results differ by {difference:.1f} grey levels on average (of 255), from "
             f"Lanczos against bilinear resampling.\n")
    return {"mean_difference": difference, "rows_cut": [ours_rows, theirs_rows]}, \
        {"celeba_crop": block}


SECTIONS = (normalize_others, stride_information, batchnorm_noise, nonlinearity,
            fake_gradients, celeba_crop)
