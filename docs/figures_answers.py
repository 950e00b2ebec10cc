"""Figures and tables for the questions about losses and library defaults: no training.

Sections of docs/figures.py (each returns (numbers, blocks)):

  gan_losses.png, gan_losses.md   Q9   saturating vs non-saturating generator loss and
                                       their gradients; logits vs probabilities in float32
  keras_defaults.md               Q12  Keras' defaults, read from the installed Keras
  init_scales.md                  Q13  how each initialisation scales D's activations
"""

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from dcgan_tf import config as config_lib, data, losses, models
from figures_common import markdown_table, save_figure


def gan_losses(out_dir, quick, seed):
    """G's two losses as functions of D's logit on a fake, with their gradients.

    The losses are dcgan_tf.losses' non-saturating one and the minimax one it
    replaces, log(1 - D(G(z))), both computed from logits; gradients come from
    tf.GradientTape with respect to the logit.
    """
    del quick, seed
    logits = tf.constant(np.linspace(-8, 8, 401), tf.float32)[:, None]

    def per_logit(loss_fn):
        with tf.GradientTape() as tape:
            tape.watch(logits)
            values = tf.stack([loss_fn(logits[i:i + 1]) for i in range(len(logits))])
        return values.numpy(), tape.gradient(values, logits).numpy()[:, 0]

    # log(1 - D) = -softplus(logit), computed stably from the logit.
    minimax = lambda fake: -tf.reduce_mean(tf.nn.softplus(fake))  # noqa: E731
    ns_value, ns_grad = per_logit(losses.generator_loss)
    mm_value, mm_grad = per_logit(minimax)
    probability = tf.sigmoid(logits).numpy()[:, 0]

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    left.plot(probability, ns_value, label="non-saturating: -log D(G(z))")
    left.plot(probability, mm_value, label="minimax: log(1 - D(G(z)))")
    left.set(xlabel="D(G(z)): D's probability that a fake is real", ylabel="G's loss",
             title="What G minimises")
    right.plot(probability, -ns_grad, label="non-saturating")
    right.plot(probability, -mm_grad, label="minimax")
    right.set(xlabel="D(G(z))", ylabel="-d loss / d logit (how hard G is pushed)",
              title="How strongly G learns", ylim=(0, 1.05))
    for axes in (left, right):
        axes.axvspan(0, 0.1, color="0.9", zorder=0)
        axes.legend(fontsize=9)
    left.text(0.02, 0.5, "early training:\nD rejects fakes", transform=left.transAxes,
              fontsize=9)
    save_figure(figure, out_dir, "gan_losses.png")

    rows, numbers = [], {}
    for p in (0.001, 0.01, 0.1, 0.5, 0.9):
        index = int(np.argmin(np.abs(probability - p)))
        rows.append([f"{probability[index]:.3f}", f"{-ns_grad[index]:.3f}",
                     f"{-mm_grad[index]:.3f}"])
        numbers[f"push_at_{p}"] = {"non_saturating": float(-ns_grad[index]),
                                   "minimax": float(-mm_grad[index])}
    push = markdown_table(["D(G(z))", "push on the logit, non-saturating",
                           "push on the logit, minimax"], rows)

    # Probabilities first, then the log, in float32: what a Sigmoid layer and a
    # loss on probabilities compute, against the loss on the logit itself.
    stability_rows = []
    for logit in (5.0, 20.0, 110.0):
        probability_of_real = tf.sigmoid(tf.constant(-logit))  # A fake D rejects hard.
        naive = -tf.math.log(probability_of_real).numpy()
        stable = float(losses.generator_loss(tf.constant([[-logit]])))
        keras_probabilities = float(keras.losses.BinaryCrossentropy()(
            [[1.0]], [[float(probability_of_real)]]))
        stability_rows.append([f"{-logit:g}", f"{float(probability_of_real):.3g}",
                               f"{naive:.4g}", f"{keras_probabilities:.4g}", f"{stable:.4g}"])
        numbers[f"logit_{-logit:g}"] = {"naive": float(naive), "keras_probabilities":
                                        keras_probabilities, "from_logits": stable}
    stability = markdown_table(
        ["D's logit on a fake", "sigmoid (float32)", "-log(sigmoid) in float32",
         "Keras BCE on the probability", "dcgan_tf, from the logit"], stability_rows)
    return numbers, {"gan_losses": push, "logit_stability": stability}


def keras_defaults(out_dir, quick, seed):
    """The defaults of the installed Keras that DCGAN code meets, read from the objects."""
    del out_dir, quick, seed
    norm = keras.layers.BatchNormalization()
    adam = keras.optimizers.Adam()
    conv = keras.layers.Conv2D(1, 3)
    rows = [
        ["BatchNormalization momentum", f"{norm.momentum}", "the weight of the old average"],
        ["BatchNormalization epsilon", f"{norm.epsilon}", ""],
        ["LeakyReLU negative_slope", f"{keras.layers.LeakyReLU().negative_slope}", ""],
        ["Conv2D kernel initializer", type(conv.kernel_initializer).__name__, ""],
        ["Conv2D bias", "on" if conv.use_bias else "off", ""],
        ["image layout", keras.config.image_data_format(), "(batch, height, width, channels)"],
        ["Adam learning rate", f"{float(adam.learning_rate):g}", ""],
        ["Adam beta_1, beta_2", f"{adam.beta_1}, {adam.beta_2}", ""],
        ["Adam epsilon", f"{adam.epsilon:g}", ""],
    ]
    numbers = {row[0]: row[1] for row in rows}
    numbers["keras"] = keras.__version__
    return numbers, {"keras_defaults": markdown_table(["setting", "Keras " + keras.__version__,
                                                       "note"], rows)}


INITIALIZERS = {  # name -> initializer for a seed (seeded: the table repeats exactly).
    "N(0, 1)": lambda seed: keras.initializers.RandomNormal(0.0, 1.0, seed=seed),
    "Glorot uniform": lambda seed: keras.initializers.GlorotUniform(seed=seed),
    "He normal": lambda seed: keras.initializers.HeNormal(seed=seed),
    "N(0, 0.02)": lambda seed: keras.initializers.RandomNormal(0.0, 0.02, seed=seed),
}


def init_scales(out_dir, quick, seed):
    """The standard deviation of each layer's output in the tutorial's discriminator
    (no BatchNorm in it), on real digits, right after initialisation.

    D is models.build_discriminator (tutorial preset, 28x28x1); its kernels are
    redrawn from each initializer (biases stay 0), then 256 bundled MNIST digits,
    normalised to [-1, 1], go through it in inference mode.
    """
    del out_dir
    digits = data.normalize(data.read_local_copy(data.BUNDLED_MNIST_DIR).images[
        :64 if quick else 256]).numpy()
    discriminator = models.build_discriminator(config_lib.preset(
        "tutorial", image_size=28, channels=1))
    kernels = [layer for layer in discriminator.layers if hasattr(layer, "kernel")]
    probe = keras.Model(discriminator.inputs, [layer.output for layer in kernels])
    rows, numbers = [], {}
    for name, initializer in INITIALIZERS.items():
        for index, layer in enumerate(kernels):
            layer.kernel.assign(initializer(seed + index)(layer.kernel.shape))
        outputs = probe(digits, training=False)
        stds = [float(np.std(output)) for output in outputs]
        fans = [int(np.prod(layer.kernel.shape[:-1])) for layer in kernels]
        weight_stds = [float(np.std(layer.kernel.numpy())) for layer in kernels]
        numbers[name] = {"output_std": stds, "kernel_std": weight_stds, "fan_in": fans}
        rows.append([name] + [f"{w:.3g} / {o:.3g}" for w, o in zip(weight_stds, stds)])
    header = ["kernels drawn from"] + [
        f"{type(layer).__name__} {index} (fan-in {fan}): kernel std / output std"
        for index, (layer, fan) in enumerate(zip(kernels, numbers["N(0, 0.02)"]["fan_in"]), 1)]
    numbers["input_std"] = float(np.std(digits))
    table = markdown_table(header, rows)
    return numbers, {"init_scales": f"Input pixels: std {np.std(digits):.3g}.\n\n" + table}


SECTIONS = (gan_losses, keras_defaults, init_scales)
