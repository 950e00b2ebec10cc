"""The train state: what a checkpoint holds, and that earlier runs still restore."""

import os

import tensorflow as tf

from dcgan_tf import config
from dcgan_tf.state import TrainState

# Variable names of a checkpoint that train.py wrote before TrainState existed
# (`train.py --dataset=mnist --batch_size=64 --ema_decay=0.99 --max_steps=30`, when
# Conv2DTranspose was the default upsampling): a state whose checkpoint has
# exactly these restores such runs.
KEYS_FILE = os.path.join(os.path.dirname(__file__), "data", "checkpoint_keys_ema.txt")


def _stored_keys(state, tmp_path):
    path = state.checkpoint().save(str(tmp_path / "ckpt"))  # As CheckpointManager does.
    return sorted(tf.train.load_checkpoint(path).get_variable_to_shape_map())


def test_checkpoint_keys_match_a_run_written_by_the_previous_training_module(tmp_path):
    state = TrainState.create(config.Config(image_size=28, channels=1, ema_decay=0.99,
                                            upsample="transpose"))
    with open(KEYS_FILE, encoding="utf-8") as f:
        expected = f.read().split()
    assert _stored_keys(state, tmp_path) == expected


def test_checkpoint_holds_no_optional_member_that_is_off(tmp_path):
    state = TrainState.create(config.Config(image_size=28, channels=1, noise_dim=8,
                                            ema_decay=0.0))
    assert state.ema_generator is None and state.loss_scales is None
    keys = _stored_keys(state, tmp_path)
    assert not [key for key in keys if key.startswith(("ema_generator/", "loss_scales/"))]
    assert state.sampling_generator is state.generator


def test_restore_into_state_of_another_shape_fails(tmp_path):
    small = TrainState.create(config.Config(image_size=28, channels=1, noise_dim=8))
    path = small.checkpoint().write(str(tmp_path / "ckpt"))
    other = TrainState.create(config.Config(image_size=28, channels=1, noise_dim=16))
    try:
        other.restore(path)
    except (ValueError, tf.errors.InvalidArgumentError):
        return
    raise AssertionError("restoring noise_dim 8 weights into a noise_dim 16 state succeeded")
