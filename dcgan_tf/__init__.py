"""dcgan_tf: a DCGAN for TensorFlow/Keras that trains, measures and ships a generator.

    from dcgan_tf import config, training
    result = training.train(config.preset("dcgan", dataset="mnist", epochs=5))
"""

__version__ = "0.1.0"
