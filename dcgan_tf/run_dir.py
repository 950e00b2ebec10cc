"""The run directory (`workdir`): its layout, and the check that it fits a config.

    <workdir>/config.json        how the run was made (Config.to_json)
    <workdir>/checkpoints/       tf.train.CheckpointManager
    <workdir>/samples/           epoch_0001.png ... from the fixed progress noise
    <workdir>/progress.gif       those frames in order
    <workdir>/losses.csv, losses.png
    <workdir>/tensorboard/       event files
    <workdir>/generator/         the exported SavedModel
"""

import os

from dcgan_tf import files
from dcgan_tf.config import Config, resume_differences
from dcgan_tf.errors import InputError


def path(config, *parts):
    return os.path.join(config.workdir, *parts)


def check_compatible(config):
    """Refuses a workdir written by a run whose networks or data differ.

    Reads only; touches nothing. Settings such as --epochs may change between
    runs, since they do not change what a checkpoint holds.

    Raises:
        InputError: naming the workdir and listing every differing setting.
    """
    config_path = path(config, "config.json")
    if not os.path.exists(config_path):
        if os.path.isdir(path(config, "checkpoints")):
            raise InputError(f"--workdir={config.workdir}: has checkpoints but no "
                             "config.json, so it cannot be checked; use another --workdir.")
        return
    try:
        with open(config_path, encoding="utf-8") as f:
            previous = Config.from_json(f.read())
    except (OSError, ValueError, TypeError) as e:
        raise InputError(f"{config_path}: unreadable ({e}); use another --workdir.") from e
    differences = resume_differences(previous, config)
    if differences:
        raise InputError(
            f"--workdir={config.workdir} holds a run made with another configuration:\n  "
            + "\n  ".join(differences)
            + "\nUse another --workdir, or the same settings to resume it.")


def create(config):
    """Creates the workdir and writes config.json, failing early if it cannot."""
    try:
        os.makedirs(config.workdir, exist_ok=True)
        files.write_text(path(config, "config.json"), config.to_json())
    except OSError as e:
        raise InputError(f"--workdir={config.workdir}: cannot write there ({e}).") from e
