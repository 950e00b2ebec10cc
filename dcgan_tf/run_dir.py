"""The run directory (`workdir`): its layout, and the check that it fits a config.

    <workdir>/config.json        how the run was made (Config.to_json)
    <workdir>/checkpoints/       tf.train.CheckpointManager
    <workdir>/samples/           epoch_0001.png ... from the fixed progress noise
    <workdir>/progress.gif       those frames in order
    <workdir>/losses.csv, losses.png
    <workdir>/metrics.csv        sample quality every --eval_every epochs
    <workdir>/tensorboard/       event files
    <workdir>/real_vs_fake.png   real training images beside the latest frame
    <workdir>/generator/         the exported generator (SavedModel)
    <workdir>/discriminator/     the exported discriminator (SavedModel)
"""

import os

from dcgan_tf import files
from dcgan_tf.config import Config, resume_differences
from dcgan_tf.errors import InputError


def path(config, *parts):
    return os.path.join(config.workdir, *parts)


# Everything a run writes, and so everything --overwrite removes. Other files a
# user keeps in the workdir are left alone.
ARTIFACTS = ("config.json", "checkpoints", "samples", "progress.gif", "real_vs_fake.png",
             "losses.csv", "losses.png", "metrics.csv", "tensorboard", "generator",
             "discriminator")


def differences(config):
    """Settings in which the run already in the workdir differs from `config`.

    Reads only; touches nothing. Settings outside RESUME_FIELDS (such as --epochs)
    may change between runs, since they do not change what a checkpoint holds.

    Returns:
        A list of 'name: old -> new' strings; empty for a new or matching run.

    Raises:
        InputError: the workdir holds a run whose config.json is missing or unreadable.
    """
    config_path = path(config, "config.json")
    if not os.path.exists(config_path):
        if os.path.isdir(path(config, "checkpoints")):
            return ["config.json: missing, though checkpoints exist"]
        return []
    try:
        with open(config_path, encoding="utf-8") as f:
            previous = Config.from_json(f.read())
    except (OSError, ValueError, TypeError) as e:
        return [f"config.json: unreadable ({e})"]
    return resume_differences(previous, config)


def mismatch_error(config, differences):
    return InputError(
        f"--workdir={config.workdir} holds a run made with another configuration:\n  "
        + "\n  ".join(differences)
        + "\nUse another --workdir, the same settings to resume it, or --overwrite to "
        "discard it and start again.")


def clear(config):
    """Removes every artifact of a previous run from the workdir (--overwrite)."""
    for name in ARTIFACTS:
        files.remove(path(config, name))


def create(config):
    """Creates the workdir and writes config.json, failing early if it cannot."""
    try:
        os.makedirs(config.workdir, exist_ok=True)
        files.write_text(path(config, "config.json"), config.to_json())
    except OSError as e:
        raise InputError(f"--workdir={config.workdir}: cannot write there ({e}).") from e
