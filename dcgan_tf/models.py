"""The generator and discriminator, built from the image shape and the architecture.

architecture='tutorial': 28x28 images get exactly the networks of TensorFlow's
DCGAN tutorial:
  G: noise [B, 100] -> Dense 7*7*256 -> (7, 7, 256) -> 7x7x128 -> 14x14x64 -> 28x28xC
  D: 28x28xC -> 14x14x64 -> 7x7x128 -> Flatten -> logit [B, 1]
32, 64 and 128 pixel squares follow the DCGAN rule: G starts at 4x4 and every
stride-2 block doubles the side and halves the filters, ending with 64 filters
before the output layer; D mirrors it, from 64 filters up to 4x4.

architecture='dcgan_paper': the DCGAN paper's all-convolutional networks as
PyTorch's DCGAN example writes them, at 64x64 with ngf = ndf = 64:
  G: noise -> Dense 4*4*512 -> (4, 4, 512), BN, ReLU -> 8x8x256 -> 16x16x128
     -> 32x32x64 (each ConvTranspose, BN, ReLU) -> 64x64xC, tanh
  D: 64x64xC -> 32x32x64 (Conv, LeakyReLU) -> 16x16x128 -> 8x8x256 -> 4x4x512
     (each Conv, BN, LeakyReLU) -> 4x4 valid Conv -> logit [B, 1]
The Dense layer computes what PyTorch's first ConvTranspose2d(nz, 8 ngf, 4, 1, 0)
does to a 1x1 input. Other sizes double or halve the same way from a 4x4 base
(7x7 for 28x28). BatchNorm uses PyTorch's momentum and epsilon (0.1 and 1e-5
there; 0.9 and 1e-5 in Keras' convention), and no convolution has a bias.

conditional=True (either architecture) adds an int32 label input [B] to both:
  G: the one-hot label is concatenated to the noise before the first Dense layer
     (a learned per-class offset of its output: the Dense layer is linear).
  D, conditioning='projection' (Miyato and Koyama 2018): the logit gains the
     inner product of a learned class embedding with D's last features,
     logit = w.h + b + embed(y).h.
  D, conditioning='concat': one-hot label maps, one constant channel per class,
     are stacked on the image's channels before the first convolution.
Unconditional networks have exactly the layers (and variable names) above.
"""

import contextlib
import dataclasses
import math

import keras
import tensorflow as tf
from keras import layers

from dcgan_tf import devices


def generator_plan(image_size):
    """The generator's layout for a square image side.

    Returns:
        (base_size, base_filters, blocks): the Dense layer reshapes to
        [base_size, base_size, base_filters], then each (filters, stride) in
        `blocks` is one upsampling block before the stride-2 output layer.
    """
    if image_size == 28:
        return 7, 256, [(128, 1), (64, 2)]
    doublings = int(math.log2(image_size // 4))
    if 4 * 2**doublings != image_size:
        raise ValueError(f"image size {image_size} is not 28 or 4 * 2^k.")
    # The output layer is the last doubling; the hidden blocks end at 64 filters.
    blocks = [(64 * 2**i, 2) for i in reversed(range(doublings - 1))]
    return 4, 64 * 2**(doublings - 1), blocks


def build_generator(config):
    """Noise to image.

    Args:
        config: a resolved Config (image_size, channels, noise_dim, upsample,
            kernel_size, init_stddev, leaky_relu_slope).

    Returns:
        keras.Model mapping float32 [B, noise_dim] to float32 [B, H, W, C] in
        [-1, 1] (tanh). BatchNorm uses batch statistics when called with
        training=True and its moving averages with training=False.
    """
    config = _concrete_precision(config)
    base_size, base_filters, blocks = generator_plan(config.image_size)
    with _precision(config.precision):
        if config.architecture == "dcgan_paper":
            return _build_paper_generator(config, base_size, _doublings(blocks))
        return _build_generator(config, base_size, base_filters, blocks)


def _generator_inputs(config):
    """(the generator's keras.Inputs, the tensor its first Dense layer takes)."""
    noise = keras.Input(shape=(config.noise_dim,), name="noise")
    if not config.conditional:
        return noise, noise
    label = keras.Input(shape=(), dtype="int32", name="label")
    joined = layers.Concatenate(name="noise_and_label")(
        [noise, OneHot(config.num_classes)(label)])
    return [noise, label], joined


def _build_generator(config, base_size, base_filters, blocks):
    inputs, x = _generator_inputs(config)
    # No bias before BatchNorm: BN's own offset (beta) makes it redundant.
    x = layers.Dense(base_size * base_size * base_filters, use_bias=False,
                     kernel_initializer=_kernel_init(config))(x)
    x = _normalize_and_activate(x, config)
    x = layers.Reshape((base_size, base_size, base_filters))(x)
    for filters, stride in blocks:
        x = _upsample(x, filters, stride, config)
        x = _normalize_and_activate(x, config)
    image = _upsample(x, config.channels, 2, config, activation="tanh")
    if config.precision != "float32":
        # Images leave in float32 whatever the compute precision (a weightless
        # layer, so the weights still load into a float32 generator).
        image = layers.Activation("linear", dtype="float32", name="to_float32")(image)
    return keras.Model(inputs, image, name="generator")


def build_discriminator(config):
    """Image to a single real-vs-fake logit.

    Args:
        config: a resolved Config (image_size, channels, kernel_size,
            init_stddev, leaky_relu_slope, dropout_rate).

    Returns:
        keras.Model mapping float32 [B, H, W, C] in [-1, 1] to float32 [B, 1]
        logits (no sigmoid: the loss works on logits, which is numerically safer).
    """
    config = _concrete_precision(config)
    base_size, _, blocks = generator_plan(config.image_size)
    with _precision(config.precision):
        if config.architecture == "dcgan_paper":
            return _build_paper_discriminator(config, base_size, _doublings(blocks))
        return _build_discriminator(config, blocks)


def _discriminator_inputs(config):
    """(D's keras.Inputs, the image tensor its first layer takes, the label input or
    None): with conditioning='concat', the label maps ride on the image's channels."""
    image = keras.Input(shape=config.image_shape, name="image")
    if not config.conditional:
        return image, image, None
    label = keras.Input(shape=(), dtype="int32", name="label")
    x = image
    if config.conditioning == "concat":
        x = layers.Concatenate(name="image_and_label")(
            [image, LabelMaps(config.num_classes, config.image_size)(label)])
    return [image, label], x, label


def _projected(config, logit, features, label):
    """The logit, plus the class projection under conditioning='projection'."""
    if label is None or config.conditioning != "projection":
        return logit
    return ClassProjection(config.num_classes, _kernel_init(config), dtype="float32",
                           name="class_projection")([logit, features, label])


def _build_discriminator(config, blocks):
    inputs, x, label = _discriminator_inputs(config)
    # One stride-2 convolution per upsampling step of the generator, so D
    # downsamples 28 -> 14 -> 7 (tutorial) or 64 -> 32 -> 16 -> 8 -> 4.
    downsamplings = sum(stride == 2 for _, stride in blocks) + 1
    for i in range(downsamplings):
        x = layers.Conv2D(64 * 2**i, config.kernel_size, strides=2, padding="same",
                          kernel_initializer=_kernel_init(config))(x)
        x = layers.LeakyReLU(negative_slope=config.leaky_relu_slope)(x)
        x = Dropout(config.dropout_rate)(x)
    x = layers.Flatten()(x)
    # The logit is computed in float32 under every precision: the losses need it.
    logit = layers.Dense(1, kernel_initializer=_kernel_init(config), dtype="float32",
                         name="logit")(x)
    return keras.Model(inputs, _projected(config, logit, x, label), name="discriminator")


class OneHot(layers.Layer):
    """int labels [B] -> one-hot [B, num_classes] in the layer's compute dtype."""

    def __init__(self, num_classes, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes

    def call(self, labels):
        return keras.ops.one_hot(keras.ops.cast(labels, "int32"), self.num_classes,
                                 dtype=self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


class LabelMaps(OneHot):
    """int labels [B] -> [B, size, size, num_classes]: each class's one-hot value
    as a constant map, stacked on an image's channels (conditioning='concat')."""

    def __init__(self, num_classes, size, **kwargs):
        super().__init__(num_classes, **kwargs)
        self.size = size

    def call(self, labels):
        one_hot = super().call(labels)[:, None, None, :]
        return one_hot * keras.ops.ones((1, self.size, self.size, 1), self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "size": self.size}


class ClassProjection(layers.Layer):
    """[logit [B, 1], features [B, F], labels [B]] -> logit + <embed(label), features>,
    the projection discriminator's class term (Miyato and Koyama 2018, eq. 3)."""

    def __init__(self, num_classes, initializer, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.initializer = keras.initializers.get(initializer)

    def build(self, input_shapes):
        self.embeddings = self.add_weight(shape=(self.num_classes, input_shapes[1][-1]),
                                          initializer=self.initializer, name="embeddings")

    def call(self, inputs):
        logit, features, labels = inputs
        embedded = keras.ops.take(self.embeddings, keras.ops.cast(labels, "int32"), axis=0)
        return logit + keras.ops.sum(embedded * features, axis=-1, keepdims=True)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes,
                "initializer": keras.initializers.serialize(self.initializer)}


class Dropout(layers.Dropout):
    """Keras' Dropout, with masks that differ between tf.distribute replicas.

    Keras' Dropout draws every mask from one seed state, and under a strategy each
    replica holds the same copy of it, so replica k would drop the same units of its
    k-th share of the batch as every other replica. This folds the replica's index into
    the seed. With one replica it is Keras' Dropout exactly, same masks included.
    (noise_shape is not supported: the discriminator drops units independently.)
    """

    def call(self, inputs, training=False):
        replica = tf.distribute.get_replica_context()
        if (not training or self.rate == 0 or replica is None
                or replica.num_replicas_in_sync == 1):
            return super().call(inputs, training=training)
        # int32 seeds, as Keras' own dropout uses, so that the step compiles with XLA.
        seed = tf.cast(tf.math.floormod(self.seed_generator.next(), tf.int32.max - 1), tf.int32)
        seed = tf.random.experimental.stateless_fold_in(seed, replica.replica_id_in_sync_group)
        return tf.nn.experimental.stateless_dropout(inputs, rate=self.rate, seed=seed)


def _upsample(x, filters, stride, config, activation=None):
    """A transposed convolution, or resize-convolution when config.upsample='resize'.

    Resize-convolution (nearest-neighbour upsampling, then a stride-1 Conv2D)
    gives every output pixel the same number of kernel taps, which removes the
    checkerboard pattern transposed convolutions make when the kernel size is
    not divisible by the stride (Odena et al., Distill 2016).
    """
    options = dict(padding="same", use_bias=False, activation=activation,
                   kernel_initializer=_kernel_init(config))
    if config.upsample == "transpose":
        return layers.Conv2DTranspose(filters, config.kernel_size, strides=stride,
                                      **options)(x)
    if stride > 1:
        x = NearestUpSampling2D(stride)(x)
    return layers.Conv2D(filters, config.kernel_size, **options)(x)


class NearestUpSampling2D(layers.UpSampling2D):
    """Keras' nearest-neighbour UpSampling2D, its output's height and width kept
    static (the same values; a reshape the gradient passes through unchanged).

    Keras repeats rows and columns with shapes computed at run time, which leaves
    the next convolution with unknown spatial sizes; the LiteRT converter then
    cannot use its own convolution and needs TensorFlow's ops in the app.
    """

    def __init__(self, size, **kwargs):
        super().__init__(size, interpolation="nearest", **kwargs)

    def call(self, inputs):
        _, height, width, channels = self.compute_output_shape(inputs.shape)
        return keras.ops.reshape(super().call(inputs), (-1, height, width, channels))

    def get_config(self):
        config = super().get_config()
        del config["interpolation"]
        return config


def _normalize_and_activate(x, config):
    gamma = ("ones" if config.init_stddev is None
             else keras.initializers.RandomNormal(1.0, config.init_stddev))
    # Keras computes BatchNorm's statistics in float32 under mixed precision.
    x = layers.BatchNormalization(gamma_initializer=gamma, synchronized=config.sync_batchnorm)(x)
    return layers.LeakyReLU(negative_slope=config.leaky_relu_slope)(x)


def _concrete_precision(config):
    """`config` with --precision=auto replaced by this machine's choice (training
    resolves it before it builds; this is for code that builds from a Config itself)."""
    if config.precision != "auto":
        return config
    return dataclasses.replace(config, precision=devices.choose_precision()[0])


@contextlib.contextmanager
def _precision(name):
    """Builds layers under the dtype policy `name`, then puts the old one back."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _kernel_init(config):
    """Glorot uniform (Keras' default, the tutorial) or N(0, init_stddev) (DCGAN)."""
    if config.init_stddev is None:
        return "glorot_uniform"
    return keras.initializers.RandomNormal(0.0, config.init_stddev)


# PyTorch's BatchNorm2d defaults, in Keras' terms (Keras' momentum is 1 - PyTorch's).
PAPER_BATCHNORM = dict(momentum=0.9, epsilon=1e-5)


def _build_paper_generator(config, base_size, hidden_blocks):
    inputs, x = _generator_inputs(config)
    filters = config.generator_filters * 2**hidden_blocks
    x = layers.Dense(base_size * base_size * filters, use_bias=False,
                     kernel_initializer=_kernel_init(config))(x)
    # Normalised per channel, as BatchNorm2d after PyTorch's first ConvTranspose2d.
    x = layers.Reshape((base_size, base_size, filters))(x)
    x = _paper_normalize(x, config, layers.ReLU())
    for block in reversed(range(hidden_blocks)):
        x = _upsample(x, config.generator_filters * 2**block, 2, config)
        x = _paper_normalize(x, config, layers.ReLU())
    image = _upsample(x, config.channels, 2, config, activation="tanh")
    if config.precision != "float32":
        image = layers.Activation("linear", dtype="float32", name="to_float32")(image)
    return keras.Model(inputs, image, name="generator")


def _build_paper_discriminator(config, base_size, hidden_blocks):
    inputs, x, label = _discriminator_inputs(config)
    for block in range(hidden_blocks + 1):
        x = layers.Conv2D(config.discriminator_filters * 2**block, config.kernel_size,
                          strides=2, padding="same", use_bias=False,
                          kernel_initializer=_kernel_init(config))(x)
        activation = layers.LeakyReLU(negative_slope=config.leaky_relu_slope)
        # No BatchNorm on D's input layer (Radford et al., section 3).
        x = activation(x) if block == 0 else _paper_normalize(x, config, activation)
        if config.dropout_rate:
            x = Dropout(config.dropout_rate)(x)
    # The 4x4 (7x7 at 28x28) valid convolution: base_size -> 1. Its output is
    # the logit; the loss applies the sigmoid (PyTorch's example ends in Sigmoid).
    features = x
    x = layers.Conv2D(1, base_size, padding="valid", use_bias=False, dtype="float32",
                      kernel_initializer=_kernel_init(config), name="logit_conv")(x)
    logit = layers.Reshape((1,), dtype="float32", name="logit")(x)
    if label is not None and config.conditioning == "projection":
        features = layers.Flatten()(features)
    return keras.Model(inputs, _projected(config, logit, features, label), name="discriminator")


def _doublings(blocks):
    """Stride-2 hidden blocks of a generator plan (its output layer is one more)."""
    return sum(stride == 2 for _, stride in blocks)


def _paper_normalize(x, config, activation):
    gamma = ("ones" if config.init_stddev is None
             else keras.initializers.RandomNormal(1.0, config.init_stddev))
    x = layers.BatchNormalization(gamma_initializer=gamma, synchronized=config.sync_batchnorm,
                                  **PAPER_BATCHNORM)(x)
    return activation(x)
