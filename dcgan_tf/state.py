"""The train state: exactly what a checkpoint holds.

    state = TrainState.create(config)      # fresh models, optimizers, counters
    state.restore(path)                    # a tf.train.Checkpoint written by a run
    checkpoint = state.checkpoint()        # what CheckpointManager saves

Runs written by earlier versions of dcgan_tf restore into it: the checkpoint
keys are the field names below, unchanged.
"""

import dataclasses

import keras
import tensorflow as tf

from dcgan_tf import conditioning, models
from dcgan_tf.train_step import LossScale


@dataclasses.dataclass
class TrainState:
    """Both networks, their optimizers, the counters and every random state.

    Attributes:
        generator: keras.Model, noise [B, noise_dim] (and int32 labels [B] when
            conditional) -> images [B, H, W, C] in [-1, 1].
        discriminator: keras.Model, images (and labels) -> logits [B, 1].
        generator_optimizer, discriminator_optimizer: built keras Adam optimizers.
        step: int64 tf.Variable, training steps taken.
        epoch: int64 tf.Variable, epochs completed.
        progress_noise: float32 tf.Variable, the fixed noise of every progress
            frame (conditioning.progress_noise_shape).
        noise_rng: tf.random.Generator the train step draws its noise from.
        dropout_rng_states: the discriminator's Dropout random states (Keras
            keeps them outside the weights; without them a resumed run would
            replay the first run's dropout masks).
        ema_generator: None, or the moving average of the generator (--ema_decay).
        loss_scales: None, or [generator, discriminator] LossScale (mixed_float16).
    """
    generator: keras.Model
    discriminator: keras.Model
    generator_optimizer: keras.optimizers.Optimizer
    discriminator_optimizer: keras.optimizers.Optimizer
    step: tf.Variable
    epoch: tf.Variable
    progress_noise: tf.Variable
    noise_rng: tf.random.Generator
    dropout_rng_states: list
    ema_generator: keras.Model | None = None
    loss_scales: list | None = None

    @classmethod
    def create(cls, config, with_average=None, strategy=None):
        """Builds fresh models and optimizers for `config`.

        Args:
            config: the run's resolved Config.
            with_average: include the generator average; None = when
                config.ema_decay > 0.
            strategy: the tf.distribute.Strategy to create the trained variables
                under; None = the current one.
        """
        with (strategy or tf.distribute.get_strategy()).scope():
            generator = models.build_generator(config)
            discriminator = models.build_discriminator(config)
            generator_optimizer = keras.optimizers.Adam(config.learning_rate,
                                                        beta_1=config.beta_1)
            discriminator_optimizer = keras.optimizers.Adam(config.d_learning_rate,
                                                            beta_1=config.beta_1)
            # Creating the optimizer slots now lets a checkpoint restore into them.
            generator_optimizer.build(generator.trainable_variables)
            discriminator_optimizer.build(discriminator.trainable_variables)
            progress_rng, noise_rng = tf.random.Generator.from_seed(config.seed).split(2)
            average = None
            if bool(config.ema_decay) if with_average is None else with_average:
                # Built last, so runs without it draw the same initial weights.
                average = new_average(config, generator)
            scales = ([LossScale("generator"), LossScale("discriminator")]
                      if config.precision == "mixed_float16" else None)
        # Outside the strategy: the host reads and sets these, never a replica.
        return cls(
            generator=generator, discriminator=discriminator,
            generator_optimizer=generator_optimizer,
            discriminator_optimizer=discriminator_optimizer,
            step=tf.Variable(0, dtype=tf.int64), epoch=tf.Variable(0, dtype=tf.int64),
            progress_noise=tf.Variable(
                progress_rng.normal(conditioning.progress_noise_shape(config)),
                trainable=False),
            noise_rng=noise_rng,
            dropout_rng_states=[layer.seed_generator.state for layer in discriminator.layers
                                if isinstance(layer, keras.layers.Dropout)
                                and hasattr(layer, "seed_generator")],  # None at rate 0.
            ema_generator=average, loss_scales=scales)

    def checkpoint(self):
        """A tf.train.Checkpoint of every member that is set."""
        members = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        return tf.train.Checkpoint(**{name: value for name, value in members.items()
                                      if value is not None})

    def restore(self, path):
        """Loads a checkpoint written from a state of the same configuration.

        Returns:
            The restore status (every object of this state was matched).
        """
        return self.checkpoint().restore(path).assert_existing_objects_matched()

    @property
    def sampling_generator(self):
        """The generator to show, measure and export: the moving average when on."""
        return self.generator if self.ema_generator is None else self.ema_generator


def new_average(config, generator):
    """A generator-shaped keras.Model holding a copy of `generator`'s variables."""
    average = models.build_generator(config)
    average.set_weights(generator.get_weights())
    return average


def holds_average(checkpoint_path):
    """Whether the checkpoint at `checkpoint_path` has a generator average."""
    stored = tf.train.load_checkpoint(checkpoint_path).get_variable_to_shape_map()
    return any(name.startswith("ema_generator/") for name in stored)
