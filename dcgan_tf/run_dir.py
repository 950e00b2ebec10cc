"""The run directory (`workdir`): its layout, and the check that it fits a config.

    <workdir>/config.json        the run's settings (Config.to_json)
    <workdir>/data.json          what it trains on: source, image count, fingerprint
                                 (and a labelled folder's class names, in class order)
    <workdir>/checkpoints/       tf.train.CheckpointManager, and a copy of config.json
    <workdir>/samples/           epoch_0001.png ... from the fixed progress noise
    <workdir>/progress.gif       those frames in order
    <workdir>/losses.csv, losses.png
    <workdir>/metrics.csv        sample quality every --eval_every epochs
    <workdir>/tensorboard/       event files
    <workdir>/real_vs_fake.png   real training images beside the latest frame
    <workdir>/generator/         the exported generator (SavedModel)
    <workdir>/discriminator/     the exported discriminator (SavedModel)
"""

import dataclasses
import json
import logging
import os
import re

from dcgan_tf import files, settings
from dcgan_tf.config import Config
from dcgan_tf.errors import InputError

logger = logging.getLogger(__name__)


# Settings a run must keep to be resumed: they decide the shape of the networks
# and of the checkpointed progress noise, the data they train on and its order
# (a resumed epoch skips the batches already seen, so the seed and shuffle
# buffer must give the same permutation), or what one step is. Restoring a
# checkpoint under different values would load weights into another model, or
# replay other batches. Every other setting may change on resume and takes
# effect from the restored step; train() logs each change:
# - the optimizer's: Adam keeps its learning rate in the checkpoint, and the
#   restore's value is overwritten with the flag's (fine-tuning at a lower rate);
# - the quality levers: loss, label_smoothing and ema_decay change what later
#   steps do, not what the checkpoint holds. A run resumed with --ema_decay newly
#   on starts its average at the restored generator; one resumed with it off drops
#   the stored average at its next save;
# - the speed settings, except precision (float16 adds loss scales to the
#   checkpoint). A run saved under one tf.distribute strategy resumes under another.
# Settings a run directory must keep (declared with resume=True in config.Config):
# they shape the networks, the data or the random streams.
RESUME_FIELDS = settings.resume_fields(Config)
# Settings that may differ between two runs of one workdir without being worth
# a log line: where the run is, and how long it goes on.
UNLOGGED_CHANGES = ("workdir", "epochs", "max_steps")


def resume_differences(old, new):
    """Lists 'name: old -> new' for every RESUME_FIELDS entry that differs."""
    return [f"{name}: {getattr(old, name)!r} -> {getattr(new, name)!r}"
            for name in RESUME_FIELDS if getattr(old, name) != getattr(new, name)]


def resume_flags(old, new):
    """The flags that make `new` resume a run made with `old`: '--name=value' for
    every RESUME_FIELDS entry that differs, with old's value (as train.py takes it)."""
    return [f"--{field.name}={settings.flag_value(field, getattr(old, field.name))}"
            for field in dataclasses.fields(Config)
            if field.name in RESUME_FIELDS and getattr(old, field.name) != getattr(new, field.name)]


def resume_changes(old, new):
    """Lists 'name old -> new' for every other setting that differs (those a
    resume accepts), leaving out UNLOGGED_CHANGES."""
    return [f"{field.name} {getattr(old, field.name)!r} -> {getattr(new, field.name)!r}"
            for field in dataclasses.fields(Config)
            if field.name not in RESUME_FIELDS + UNLOGGED_CHANGES
            and getattr(old, field.name) != getattr(new, field.name)]


# Every file and folder a run writes, by the RunDir attribute that names it; so
# everything --overwrite removes. Other files a user keeps in the workdir stay.
_NAMES = dict(config_json="config.json", data_json="data.json", checkpoints="checkpoints",
              samples="samples", progress_gif="progress.gif", real_vs_fake="real_vs_fake.png",
              losses_csv="losses.csv", losses_png="losses.png", metrics_csv="metrics.csv",
              tensorboard="tensorboard", generator="generator", discriminator="discriminator",
              run_info="run_info.json")
# The generator in the formats other than the SavedModel (export.py), by format.
EXPORT_FILES = {"litert": "generator.tflite", "onnx": "generator.onnx"}
ARTIFACTS = (*_NAMES.values(), *EXPORT_FILES.values())


class RunDir:
    """Every path of a run directory, named once: `RunDir(workdir).losses_csv`.

    The attributes are those of _NAMES (config_json, checkpoints, generator, ...);
    `frame(n)` is epoch n's progress frame, `exported(format)` a converted
    generator file, and config_copy and data_copy the copies kept beside the
    checkpoints.
    """

    def __init__(self, workdir):
        self.workdir = workdir

    def __getattr__(self, name):
        if name in _NAMES:
            return os.path.join(self.workdir, _NAMES[name])
        raise AttributeError(name)

    def frame(self, epoch_number):
        """samples/epoch_NNNN.png, the progress frame of epoch `epoch_number` (from 1)."""
        return os.path.join(self.workdir, _NAMES["samples"], f"epoch_{epoch_number:04d}.png")

    def exported(self, export_format):
        """The generator converted to `export_format` ('litert' or 'onnx')."""
        return os.path.join(self.workdir, EXPORT_FILES[export_format])

    @property
    def config_copy(self):
        return os.path.join(self.checkpoints, _NAMES["config_json"])

    @property
    def data_copy(self):
        return os.path.join(self.checkpoints, _NAMES["data_json"])


def of(config):
    """The RunDir of config.workdir."""
    return RunDir(config.workdir)


def compare(config):
    """How `config` differs from the run already in the workdir. Reads only.

    Returns:
        (differences, changes): 'name: old -> new' for each RESUME_FIELDS setting
        that differs (a resume must refuse them), and 'name old -> new' for the
        other settings that differ (a resume accepts and logs them). Both are
        empty for a new or matching run.
    """
    previous, problem = _previous_config(config)
    if problem:
        return [problem], []
    if previous is None:
        return [], []
    return resume_differences(previous, config), resume_changes(previous, config)


def stored_config(config):
    """The Config of the run already in config.workdir, or None (no run there, or
    its settings unreadable: compare() reports that)."""
    return _previous_config(config, warn=False)[0]


def _previous_config(config, warn=True):
    """(Config of the run in the workdir or None, problem or None).

    config.json is read first; if it is missing or damaged (a crash on a file
    system that lost the write) while checkpoints exist, the copy saved beside
    the checkpoints stands in for it, and create() writes config.json again.
    """
    run = of(config)
    if not os.path.exists(run.config_json) and not os.path.isdir(run.checkpoints):
        return None, None
    problems, read = [], {}
    for name, path in (("config.json", run.config_json),
                       ("checkpoints/config.json", run.config_copy)):
        try:
            with open(path, encoding="utf-8") as f:
                read[path] = Config.from_json(f.read())
        except FileNotFoundError:
            problems.append(f"{name}: missing")
        except (OSError, ValueError, TypeError) as e:
            problems.append(f"{name}: unreadable ({e})")
    if not read:
        return None, "; ".join(problems)
    if len(read) == 2:
        # Both are written together; a difference in what a resume must keep means one
        # was edited by hand, and the checkpoints were made with the copy's settings.
        first, copy = read.values()
        edited = [f"{name}: {getattr(copy, name)!r} in checkpoints/config.json, "
                  f"{getattr(first, name)!r} in config.json" for name in RESUME_FIELDS
                  if getattr(first, name) != getattr(copy, name)]
        if edited:
            return None, ("config.json disagrees with its copy beside the checkpoints (edited "
                          "by hand?): " + "; ".join(edited))
    if problems and warn:
        logger.warning("%s; the run's settings are read from its copy %s instead, and "
                       "config.json is written again.", problems[0], next(iter(read)))
    return next(iter(read.values())), None


def check_data(config, image_data):
    """Raises InputError if the run in the workdir trained on other images.

    The images are identified by their count and a fingerprint of their pixels
    (ImageData.fingerprint), not by their path: the same files in another folder are
    the same data. A run without data.json (made before it was written) is accepted;
    one whose data.json and copy are both damaged is refused.
    """
    recorded = _recorded_data(config)
    if recorded is None:
        return
    if (recorded.get("num_images"), recorded.get("fingerprint")) == (
            len(image_data.images), image_data.fingerprint):
        if recorded.get("source") != image_data.source:
            logger.info("Same images as before (%d, fingerprint %s), now from %s.",
                        len(image_data.images), image_data.fingerprint, image_data.source)
        return
    raise InputError(
        f"--workdir={config.workdir} holds a run trained on other images:\n  before: "
        f"{recorded.get('num_images')} images from {recorded.get('source')} (fingerprint "
        f"{recorded.get('fingerprint')})\n  now:    {len(image_data.images)} images from "
        f"{image_data.source} (fingerprint {image_data.fingerprint})\nA resumed epoch "
        "skips the batches already trained on, so it needs the same images in the same "
        "order. Use the same data to resume (for MNIST offline, the bundled sample; "
        "online, the full set), another --workdir, or --overwrite to start again.")


def _recorded_data(config):
    """The data record of the run: data.json, or its copy in checkpoints/.

    Raises:
        InputError: a record exists but neither copy reads: the run cannot tell
            whether it has its images, and a resume with others would train
            epochs out of order and write over its frames.
    """
    problems = []
    for path in (of(config).data_json, of(config).data_copy):
        try:
            with open(path, encoding="utf-8") as f:
                recorded = json.load(f)
        except (FileNotFoundError, NotADirectoryError):
            continue
        except (OSError, ValueError) as e:
            problems.append(f"{path}: unreadable ({e})")
            continue
        if not isinstance(recorded, dict):
            problems.append(f"{path}: not a JSON object")
            continue
        if problems:
            logger.warning("%s; the copy %s is used, and data.json is written again.",
                           problems[0], path)
        return recorded
    if problems:
        raise InputError(
            "; ".join(problems) + f". --workdir={config.workdir} holds a run whose training "
            "images cannot be checked, so it is not resumed. Put back data.json, or use "
            "--overwrite to start again.")
    return None


def mismatch_error(config, differences):
    """The refusal for a workdir made with other settings, with the flags that
    resume it (a run started before a default changed needs the old value)."""
    previous, _ = _previous_config(config)
    flags = resume_flags(previous, config) if previous else []
    return InputError(
        f"--workdir={config.workdir} holds a run made with another configuration:\n  "
        + "\n  ".join(differences)
        + (f"\nTo resume it, add {' '.join(flags)} to the command." if flags else "")
        + "\nOr use another --workdir, or --overwrite to discard it and start again.")


def checkpoints_newest_first(config):
    """Paths of every checkpoint (ckpt-N with its .index file) in the workdir's
    checkpoints/, highest N first; found by listing, whatever the index file says."""
    directory = of(config).checkpoints
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    numbers = [int(match.group(1)) for match in map(_CHECKPOINT_INDEX.fullmatch, names)
               if match]
    return [os.path.join(directory, f"ckpt-{number}") for number in sorted(numbers, reverse=True)]


_CHECKPOINT_INDEX = re.compile(r"ckpt-(\d+)\.index")


def check_ours(config):
    """Raises InputError when the workdir holds files named like a run's artifacts
    (checkpoints/, samples/, config.json, ...) but no dcgan_tf run: neither
    config.json nor its copy in checkpoints/ reads as a dcgan_tf config. Training
    would write over them, and --overwrite would delete them: both are refused.
    """
    present = [name for name in ARTIFACTS
               if os.path.lexists(os.path.join(config.workdir, name))]
    if not present:
        return
    problems = []
    for name, path in (("config.json", of(config).config_json),
                       ("checkpoints/config.json", of(config).config_copy)):
        try:
            with open(path, encoding="utf-8") as f:
                Config.from_json(f.read())
            return  # A dcgan_tf run (compare() checks what it was made with).
        except (OSError, ValueError, TypeError) as e:
            state = "missing" if isinstance(e, FileNotFoundError) else "unreadable"
            problems.append(f"{name}: {state}")
    problem = "; ".join(problems)
    raise InputError(
        f"--workdir={config.workdir} holds {', '.join(present)} but no dcgan_tf run "
        f"({problem}), so dcgan_tf will neither write into it nor "
        "delete anything there, --overwrite included. Choose another --workdir, or move "
        "those files away (if they are a damaged dcgan_tf run, delete the folder yourself).")


def clear(config):
    """Removes every artifact of a previous run from the workdir (--overwrite).

    Call check_ours first: this removes every name in ARTIFACTS.
    """
    for name in ARTIFACTS:
        files.remove(os.path.join(config.workdir, name))


_FRAME = re.compile(r"epoch_\d{4}\.png")
# What a killed process leaves: export folders (dcgan_tf's, and the fixed name of
# older versions) and TensorFlow's checkpoint staging folders.
_ORPHANED_FOLDERS = {"": re.compile(r"(generator|discriminator)\.partial(-\w{8})?"),
                     "checkpoints": re.compile(r"ckpt-\d+_temp\w*")}


def remove_orphans(config):
    """Deletes the temporary files and folders a killed run left in the workdir
    (they can fill a disk), and nothing else; returns how many were removed."""
    removed = files.remove_orphaned_temporaries(
        config.workdir, lambda name: name in ARTIFACTS)
    removed += files.remove_orphaned_temporaries(
        of(config).checkpoints, lambda name: name in ("config.json", "data.json"))
    removed += files.remove_orphaned_temporaries(
        of(config).samples, lambda name: bool(_FRAME.fullmatch(name)))
    for folder, pattern in _ORPHANED_FOLDERS.items():
        folder = os.path.join(config.workdir, folder)
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if pattern.fullmatch(name) and os.path.isdir(os.path.join(folder, name)):
                files.remove(os.path.join(folder, name))
                removed.append(os.path.join(folder, name))
    if removed:
        logger.info("Removed %d temporary file(s) left by an interrupted run: %s",
                    len(removed), ", ".join(removed))
    return len(removed)


def create(config, image_data=None):
    """Creates the workdir and writes config.json (and its copy beside the
    checkpoints) and data.json for `image_data`, failing early if it cannot."""
    run = of(config)
    try:
        os.makedirs(run.checkpoints, exist_ok=True)
        remove_orphans(config)
        for folder in (run.generator, run.discriminator):
            if files.recover_directory(folder):
                logger.warning("%s/ was put back from %s.old/ (an export was interrupted).",
                               folder, folder)
        for path in (run.config_json, run.config_copy):
            files.write_text(path, config.to_json())
        if image_data is not None:
            fields = dict(source=image_data.source, num_images=len(image_data.images),
                          fingerprint=image_data.fingerprint)
            if image_data.class_names:  # A labelled folder: class k is the k-th name.
                fields["class_names"] = list(image_data.class_names)
            record = json.dumps(fields, indent=1) + "\n"
            for path in (run.data_json, run.data_copy):
                files.write_text(path, record)
    except OSError as e:
        raise InputError(f"--workdir={config.workdir}: cannot write there ({e}).") from e


def add_run_info(config, attempt):
    """Appends one call of train() to run_info.json: a list of dicts, one per
    call (a resumed run has several), each with its start and end step, wall
    seconds from the first step to the end of the export, how it ended
    ('finished', 'SIGINT', 'SIGTERM', 'diverged or failed'), device, XLA,
    precision and library versions. Benchmarks read it instead of the log. An
    unreadable file is started again."""
    attempts = read_run_info(config.workdir)
    files.write_text(of(config).run_info,
                     json.dumps(dict(attempts=[*attempts, attempt]), indent=1) + "\n")


def read_run_info(workdir):
    """The attempts run_info.json in `workdir` lists ([] when it has none)."""
    try:
        with open(RunDir(workdir).run_info, encoding="utf-8") as f:
            return json.load(f)["attempts"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
