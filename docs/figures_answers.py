"""Figures and tables for the questions about losses and library defaults: no training.

Sections of docs/figures.py (each returns (numbers, blocks)):

  gan_losses.png, gan_losses.md   Q9   saturating vs non-saturating generator loss and
                                       their gradients; logits vs probabilities in float32
  keras_defaults.md               Q12  Keras' defaults, read from the installed Keras
  init_scales.md                  Q13  how each initialisation scales D's activations
  zero_insertion.png, .md         Q10  a stride-2 transposed convolution as zeros inserted
                                       between the pixels, then a plain convolution
  optimal_d.png, optimal_d.md     Q9   the GAN objective's best discriminator,
                                       D* = p_data / (p_data + p_g)
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
    discriminator = models.build_discriminator(init_scales_config())
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


def zero_insertion(out_dir, quick, seed):
    """Keras' Conv2DTranspose(k=3, strides=2, "same") on a 3x3 input, computed again
    as a stride-1 convolution of the input with zeros inserted between its pixels,
    with the kernel flipped: the two agree to float32 rounding (checked here)."""
    del quick
    rng = np.random.default_rng(seed)
    image = np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3, 1)
    kernel = rng.integers(-2, 3, (3, 3)).astype(np.float32)
    transposed = keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same", use_bias=False)
    transposed.build(image.shape)
    transposed.set_weights([kernel[:, :, None, None]])
    expected = transposed(image).numpy()[0, ..., 0]  # 6x6

    # Zero insertion: stride - 1 zeros between neighbours; then the border a valid 3x3
    # convolution needs to give 6x6 (3 rows and columns in all: with "same" and stride 2,
    # TensorFlow puts two on the top and left, one on the bottom and right).
    inserted = np.zeros((5, 5), np.float32)
    inserted[::2, ::2] = image[0, ..., 0]
    padded = np.pad(inserted, ((2, 1), (2, 1)))
    plain = keras.layers.Conv2D(1, 3, padding="valid", use_bias=False)
    plain.build((1, *padded.shape, 1))
    plain.set_weights([kernel[::-1, ::-1, None, None]])  # The kernel turned by 180 degrees.
    computed = plain(padded[None, ..., None]).numpy()[0, ..., 0]
    difference = float(np.abs(computed - expected).max())
    if difference > 1e-5:
        raise AssertionError(f"zero insertion differs from Conv2DTranspose by {difference}")

    figure, axes = plt.subplots(1, 4, figsize=(11, 3.2),
                                gridspec_kw={"width_ratios": [3, 8, 3, 6]})
    panels = ((image[0, ..., 0], "input, 3x3"),
              (padded, "zeros inserted, then padded (8x8)"),
              (kernel[::-1, ::-1], "kernel turned 180°"),
              (expected, "output, 6x6 = Conv2DTranspose"))
    for axis, (values, title) in zip(axes, panels):
        axis.imshow(values, cmap="coolwarm", vmin=-np.abs(values).max() or -1,
                    vmax=np.abs(values).max() or 1)
        for (row, column), value in np.ndenumerate(values):
            axis.text(column, row, f"{value:g}", ha="center", va="center", fontsize=8,
                      color="0.5" if value == 0 else "black")
        axis.set(title=title, xticks=[], yticks=[])
    save_figure(figure, out_dir, "zero_insertion.png")
    block = (f"![A transposed convolution as zero insertion](../figures/zero_insertion.png)\n\n"
             f"Largest difference between Keras' `Conv2DTranspose(1, 3, strides=2, "
             f"padding=\"same\")` and the plain convolution of the zero-inserted input: "
             f"{difference:.1g}.\n")
    return {"max_difference": difference}, {"zero_insertion": block}


def optimal_d(out_dir, quick, seed):
    """For a fixed G, the D that maximises V(D, G) is p_data / (p_data + p_g)
    (Goodfellow et al. 2014, Proposition 1), drawn for two 1-D densities; the
    value of V at D* is checked against -log 4 + 2 JSD(p_data || p_g) numerically."""
    del quick, seed
    x = np.linspace(-6, 8, 4001)
    step = x[1] - x[0]

    def normal(mean, std):
        return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * np.sqrt(2 * np.pi))

    p_data = 0.6 * normal(-1.5, 0.8) + 0.4 * normal(2.0, 0.6)
    rows, curves = [], []
    for label, p_g in (("G far from the data", normal(4.0, 1.0)),
                       ("G close", 0.6 * normal(-1.2, 0.9) + 0.4 * normal(2.3, 0.7)),
                       ("G = data", p_data)):
        best = p_data / (p_data + p_g + 1e-300)
        value = float(np.sum(p_data * np.log(best + 1e-300)
                             + p_g * np.log(1 - best + 1e-300)) * step)
        mixture = 0.5 * (p_data + p_g)
        jsd = 0.5 * float(np.sum(p_data * np.log((p_data + 1e-300) / (mixture + 1e-300))
                                 + p_g * np.log((p_g + 1e-300) / (mixture + 1e-300))) * step)
        rows.append((label, f"{value:.3f}", f"{-np.log(4) + 2 * jsd:.3f}", f"{jsd:.3f}"))
        curves.append((label, p_g, best))
    figure, axes = plt.subplots(1, 3, figsize=(12, 3.2), sharey=True)
    for axis, (label, p_g, best) in zip(axes, curves):
        axis.plot(x, p_data / p_data.max(), label="p_data (scaled)", color="tab:blue")
        axis.plot(x, p_g / p_g.max(), label="p_g (scaled)", color="tab:orange")
        axis.plot(x, best, label="D*(x)", color="black")
        axis.set(title=label, xlabel="x", ylim=(-0.05, 1.05))
    axes[0].legend(fontsize=8)
    save_figure(figure, out_dir, "optimal_d.png")
    table = markdown_table(("G", "V(D*, G), integrated", "-log 4 + 2 JSD", "JSD, nats"),
                           rows)
    block = ("![The best discriminator for three generators](../figures/optimal_d.png)\n\n"
             + table + "\n")
    return {"rows": rows}, {"optimal_d": block}


def init_scales_config():
    """The discriminator init_scales measures: the tutorial's, 28x28x1."""
    return config_lib.preset("tutorial", image_size=28, channels=1)


SECTIONS = (gan_losses, keras_defaults, init_scales, zero_insertion, optimal_d)
