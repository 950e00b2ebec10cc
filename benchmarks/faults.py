"""Fault injection: kill `train.py` at random moments, resume, and check every artifact.

    python benchmarks/faults.py --trials=15

Each trial starts a small real run (256 MNIST digits, batch 32, 3 epochs = 24
steps, a checkpoint every 2 steps), sends SIGKILL, SIGINT or SIGTERM after a
random delay (which may fall in start-up, training, saving or export), checks
every file in the run directory, then runs the same command again and checks
that it finishes at step 24 with complete, readable artifacts. Prints a table.

Then (unless --nocases) each damage case trains 2 steps, changes a setting or
damages a file, runs again and checks the outcome a user is promised: a refusal
(exit status 2) that leaves every file as it was, or a resume to the end with
readable artifacts: settings changed on resume, damaged text artifacts and checkpoints
(index, newest checkpoint deleted, truncated or bit-flipped, all of them), a damaged frame,
data.json and its copy, a killed run's temporaries, an out-of-range flag; then folders of
corrupt images, of the user's own files under --overwrite, and of hostile files (a FIFO,
PostScript and a 1x30000 strip named .png). Prints a second table.
"""

import collections
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from absl import flags
import imageio.v3 as iio
import numpy as np
from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from dcgan_tf import cli, config as config_lib  # noqa: E402
from dcgan_tf import data, recorder  # noqa: E402
from dcgan_tf.csv_log import CsvLog  # noqa: E402
from dcgan_tf.doc_blocks import fill_block  # noqa: E402
from quality_report import faults_cases_text  # noqa: E402  Beside this file.
from dcgan_tf.devices import cpu_name  # noqa: E402

CASES_RESULT = os.path.join(REPO, "benchmarks", "results", "faults_cases.json")

flags.DEFINE_integer("trials", 15, "Interrupted runs to try.")
flags.DEFINE_integer("seed", 0, "Seeds the choice of signals and delays.")
flags.DEFINE_float("max_delay", 14.0, "Longest wait, in seconds, before the signal.")
flags.DEFINE_bool("cases", True, "Also run the damage cases (changed settings on resume, "
                  "damaged text artifacts, an interrupted export, corrupt files in a folder).")
FLAGS = flags.FLAGS

SIGNALS = (signal.SIGKILL, signal.SIGINT, signal.SIGTERM)
# 128 + n is what train.py exits with after saving; -n is a death by the signal
# itself (Python's view of it), which is right outside the training loop too.
EXPECTED_STATUS = {number: {128 + number, -number} for number in
                   (signal.SIGKILL, signal.SIGINT, signal.SIGTERM)}
TOTAL_STEPS = 24


def check_artifacts(workdir, from_step=1):
    """Returns the problems found: each artifact present must read back whole, and
    losses.csv must hold consecutive steps from `from_step`."""
    problems = []

    def check(name, read):
        path = os.path.join(workdir, name)
        if os.path.exists(path):
            try:
                read(path)
            except Exception as e:  # Any failure to read is corruption here.
                problems.append(f"{name}: {type(e).__name__}: {e}")

    def read_config(path):
        with open(path, encoding="utf-8") as f:
            config_lib.Config.from_json(f.read())

    def read_losses(path):
        steps = _logged_steps(path)
        if steps != list(range(from_step, from_step + len(steps))):
            raise ValueError(f"steps not consecutive: {steps[:5]}...")

    def read_png(path):
        with Image.open(path) as image:
            image.load()

    def read_checkpoint(path):
        import tensorflow as tf
        latest = tf.train.latest_checkpoint(path)
        if latest:
            reader = tf.train.load_checkpoint(latest)
            for name in reader.get_variable_to_shape_map():
                reader.get_tensor(name)

    def read_generator(path):
        import tensorflow as tf
        loaded = tf.saved_model.load(path)  # Keep a reference: serve needs its variables.
        loaded.serve(np.zeros([1, 16], np.float32))

    check("config.json", read_config)
    check("losses.csv", read_losses)
    check("losses.png", read_png)
    check("progress.gif", lambda path: iio.imread(path, index=None))
    for name in sorted(os.listdir(os.path.join(workdir, "samples"))
                       if os.path.isdir(os.path.join(workdir, "samples")) else []):
        check(os.path.join("samples", name), read_png)
    check("checkpoints", read_checkpoint)
    check("generator", read_generator)
    return problems


def run_trial(command, workdir, signal_number, delay):
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    finished_first = process.poll() is not None
    if not finished_first:
        process.send_signal(signal_number)
    _, stderr = process.communicate(timeout=300)
    status_ok = finished_first or process.returncode in EXPECTED_STATUS[signal_number]
    problems_after_kill = check_artifacts(workdir)
    resumed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    problems_after_resume = check_artifacts(workdir)
    steps = _logged_steps(os.path.join(workdir, "losses.csv"))
    resumed_ok = (resumed.returncode == 0 and steps == list(range(1, TOTAL_STEPS + 1))
                  and os.path.exists(os.path.join(workdir, "generator", "saved_model.pb")))
    return dict(finished_first=finished_first, status_ok=status_ok, resumed_ok=resumed_ok,
                problems=problems_after_kill + problems_after_resume,
                stderr="" if status_ok else f"exit status {process.returncode}: {stderr[-500:]}")


def main():
    rng = random.Random(FLAGS.seed)
    images = data.read_local_copy(data.BUNDLED_MNIST_DIR).images[:256, ..., 0]
    totals = collections.defaultdict(collections.Counter)
    with tempfile.TemporaryDirectory() as root:
        npz = os.path.join(root, "mnist_256.npz")
        np.savez(npz, x_train=images)
        if FLAGS.cases:
            other_npz = os.path.join(root, "mnist_other.npz")
            np.savez(other_npz, x_train=images[::-1])  # The same count, another order.
            folder = os.path.join(root, "folder")
            _corrupt_folder(folder, images[:64], rng)
            run_cases(root, npz, other_npz, folder)
        for trial in range(FLAGS.trials):
            signal_number = rng.choice(SIGNALS)
            delay = rng.uniform(0.5, FLAGS.max_delay)
            workdir = os.path.join(root, f"run {trial}")
            command = [sys.executable, "train.py", f"--data_dir={npz}", f"--workdir={workdir}",
                       "--batch_size=32", "--noise_dim=16", "--num_examples_to_generate=4",
                       "--epochs=3", "--checkpoint_every=2"]
            result = run_trial(command, workdir, signal_number, delay)
            name = signal.Signals(signal_number).name
            counts = totals[name]
            counts["trials"] += 1
            counts["finished before the signal"] += result["finished_first"]
            counts["expected exit status"] += result["status_ok"]
            counts["resumed to the end"] += result["resumed_ok"]
            counts["corrupt artifacts"] += len(result["problems"])
            print(f"trial {trial:2d}: {name:7s} after {delay:5.2f} s: "
                  f"status {'ok' if result['status_ok'] else 'WRONG'}, "
                  f"resume {'ok' if result['resumed_ok'] else 'FAILED'}, "
                  f"{len(result['problems'])} corrupt", flush=True)
            for problem in result["problems"]:
                print("    ", problem)
            if result["stderr"]:
                print("    ", result["stderr"])
    columns = ("trials", "finished before the signal", "expected exit status",
               "resumed to the end", "corrupt artifacts")
    print("\n| signal | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for name, counts in sorted(totals.items()):
        print(f"| {name} | " + " | ".join(str(counts[c]) for c in columns) + " |")


def _snapshot(workdir):
    """Every file under `workdir` with its bytes."""
    found = {}
    for folder, _, names in os.walk(workdir):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, workdir)] = f.read()
    return found


def _empty(workdir, name):
    open(os.path.join(workdir, name), "wb").close()


def _interrupted_export(workdir):
    os.replace(os.path.join(workdir, "generator"), os.path.join(workdir, "generator.old"))


def _write(workdir, name, payload):
    with open(os.path.join(workdir, name), "wb") as f:
        f.write(payload)


def _newest_checkpoint(workdir):
    folder = os.path.join(workdir, "checkpoints")
    number = max(int(n.split("-")[1].split(".")[0]) for n in os.listdir(folder)
                 if n.startswith("ckpt-") and n.endswith(".index"))
    return [os.path.join(folder, n) for n in os.listdir(folder)
            if n.startswith(f"ckpt-{number}.")]


def _truncate_newest_checkpoint(workdir):
    for path in _newest_checkpoint(workdir):
        if ".data-" in path:
            payload = open(path, "rb").read()
            _write(workdir, path, payload[:len(payload) // 2])


def _flip_newest_checkpoint(workdir):
    for path in _newest_checkpoint(workdir):
        if ".data-" in path:
            payload = bytearray(open(path, "rb").read())
            payload[len(payload) // 2] ^= 0x40
            _write(workdir, path, bytes(payload))


def _delete_newest_checkpoint(workdir):
    for path in _newest_checkpoint(workdir):
        os.remove(path)


def _damage_every_checkpoint(workdir):
    folder = os.path.join(workdir, "checkpoints")
    for name in os.listdir(folder):
        if ".data-" in name:
            _write(folder, name, b"\0" * 16)


def _orphans(workdir):
    _write(workdir, ".losses.csv.a1b2c3d4.csv", b"x" * 4096)
    os.makedirs(os.path.join(workdir, "generator.partial-k3j2h1g0"))
    os.makedirs(os.path.join(workdir, "checkpoints", "ckpt-9_temp"))


# (case, extra flags of the second run, what to do to the run in between,
#  what must happen: "refused" or "resumed").
CASES = (
    ("--learning_rate changed", ("--learning_rate=1e-4",), None, "resumed"),
    ("--num_examples_to_generate changed", ("--num_examples_to_generate=9",), None, "refused"),
    ("--seed changed", ("--seed=1",), None, "refused"),
    ("--buffer_size changed", ("--buffer_size=7",), None, "refused"),
    ("other images", ("OTHER_DATA",), None, "refused"),
    ("config.json emptied", (), lambda w: _empty(w, "config.json"), "resumed"),
    ("losses.csv emptied", (), lambda w: _empty(w, "losses.csv"), "resumed"),
    ("data.json emptied", (), lambda w: _empty(w, "data.json"), "resumed"),
    ("export interrupted between renames", (), _interrupted_export, "resumed"),
    ("checkpoint index junk", (), lambda w: _write(w, "checkpoints/checkpoint", b"\0junk{{"),
     "resumed"),
    ("checkpoint index emptied", (), lambda w: _empty(w, "checkpoints/checkpoint"), "resumed"),
    ("newest checkpoint deleted", (), _delete_newest_checkpoint, "resumed"),
    ("newest checkpoint truncated", (), _truncate_newest_checkpoint, "resumed"),
    ("newest checkpoint bit-flipped", (), _flip_newest_checkpoint, "resumed"),
    ("every checkpoint damaged", (), _damage_every_checkpoint, "refused"),
    ("a progress frame damaged", (), lambda w: _write(w, "samples/epoch_0001.png", b"\x89PNG?"),
     "resumed"),
    ("data.json and its copy damaged", (), lambda w: [_write(w, n, b"{x") for n in (
        "data.json", "checkpoints/data.json")], "refused"),
    ("temporaries of a killed run left", (), _orphans, "resumed"),
    ("--buffer_size=2**63-1", ("--buffer_size=9223372036854775807",), None, "refused"),
)


def run_cases(root, npz, other_npz, folder):
    rows = []
    base = ["--batch_size=32", "--noise_dim=16", "--num_examples_to_generate=4", "--epochs=1",
            "--checkpoint_every=1"]
    for index, (name, extra, damage, expected) in enumerate(CASES):
        workdir = os.path.join(root, f"case {index}")
        first = [sys.executable, "train.py", f"--data_dir={npz}", f"--workdir={workdir}",
                 *base, "--max_steps=2"]
        subprocess.run(first, cwd=REPO, capture_output=True, check=True, timeout=600)
        if damage:
            damage(workdir)
        before = _snapshot(workdir)
        second = [a for a in first if a != "--max_steps=2"] + [
            f"--data_dir={other_npz}" if a == "OTHER_DATA" else a for a in extra]
        result = subprocess.run(second, cwd=REPO, capture_output=True, text=True, timeout=600)
        if expected == "refused":
            outcome = ("refused, nothing changed" if result.returncode == 2
                       and _snapshot(workdir) == before else f"exit {result.returncode}")
        else:
            steps = _logged_steps(os.path.join(workdir, "losses.csv"))
            # An emptied losses.csv starts again at the checkpoint's next step.
            problems = check_artifacts(workdir, from_step=3 if "losses" in name else 1)
            outcome = ("resumed to the end" if result.returncode == 0 and steps and steps[-1] == 8
                       and not problems else f"exit {result.returncode}, {problems}")
        ok = outcome.startswith("refused" if expected == "refused" else "resumed")
        rows.append((name, expected, outcome, ok))
        print(f"{name}: {outcome}", flush=True)
        if not ok:
            print("    ", result.stderr[-800:])
    folder_run = subprocess.run(
        [sys.executable, "train.py", "--dataset=folder", f"--data_dir={folder}",
         f"--workdir={os.path.join(root, 'folder run')}", "--image_size=28", "--channels=1",
         *base], cwd=REPO, capture_output=True, text=True, timeout=600)
    skipped = folder_run.stderr.count(".png (") + folder_run.stderr.count(".jpg (")
    ok = folder_run.returncode == 0 and skipped > 0
    rows.append(("folder with corrupt files", "trained, skipped files named",
                 f"exit {folder_run.returncode}, {skipped} files named as skipped", ok))
    rows.append(_overwrite_foreign_folder(root, npz, base))
    rows.append(_hostile_folder(root, folder, base))
    rows.extend(_multi_worker_cases(root, npz))
    table = "\n".join(["| case | promised | outcome | as promised |", "|---|---|---|---|"] + [
        f"| {name} | {expected} | {outcome} | {'yes' if ok else 'NO'} |"
        for name, expected, outcome, ok in rows])
    print("\n" + table)
    with open(CASES_RESULT, "w") as f:
        json.dump(dict(date=time.strftime("%Y-%m-%d"), cpu=cpu_name(), table=table,
                       load=f"{os.getloadavg()[0]:.1f}"), f, indent=1)
    fill_block(os.path.join(REPO, "docs", "reliability.md"), "cases",
               faults_cases_text(CASES_RESULT), "faults.py")


def _overwrite_foreign_folder(root, npz, base):
    """--overwrite pointed at a folder of the user's own files: refused, nothing touched."""
    workdir = os.path.join(root, "user folder")
    for name in ("checkpoints/model.pt", "samples/cat.png", "config.json"):
        os.makedirs(os.path.dirname(os.path.join(workdir, name)), exist_ok=True)
        _write(workdir, name, b"the user's own file")
    before = _snapshot(workdir)
    result = subprocess.run([sys.executable, "train.py", f"--data_dir={npz}",
                             f"--workdir={workdir}", "--overwrite", *base], cwd=REPO,
                            capture_output=True, text=True, timeout=600)
    ok = result.returncode == 2 and _snapshot(workdir) == before
    return ("--overwrite on a folder of the user's files", "refused",
            "refused, nothing changed" if ok else f"exit {result.returncode}", ok)


def _hostile_folder(root, folder, base):
    """A FIFO, a PostScript file and a 1x30000 strip named as images, beside the
    corrupt files: the run trains, nothing hangs or reaches another decoder."""
    hostile = os.path.join(root, "hostile folder")
    shutil.copytree(folder, hostile)
    os.mkfifo(os.path.join(hostile, "pipe.png"))
    _write(hostile, "page.png", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\nshowpage\n")
    Image.fromarray(np.zeros((1, 30000), np.uint8)).save(os.path.join(hostile, "strip.png"))
    began = time.time()
    try:
        result = subprocess.run(
            [sys.executable, "train.py", "--dataset=folder", f"--data_dir={hostile}",
             f"--workdir={os.path.join(root, 'hostile run')}", "--image_size=28", "--channels=1",
             *base], cwd=REPO, capture_output=True, text=True, timeout=300)
        outcome = f"exit {result.returncode} in {time.time() - began:.0f} s"
        ok = result.returncode == 0 and "pipe.png" in result.stderr
    except subprocess.TimeoutExpired:
        outcome, ok = "hung (killed after 300 s)", False
    return ("folder with a FIFO, PostScript and a 1x30000 PNG", "trained, FIFO named", outcome, ok)


MULTI_WORKER_CASES = (
    ("SIGTERM to the other worker of two", 1, signal.SIGTERM),
    ("SIGINT to the chief of two workers", 0, signal.SIGINT),
    ("kill -9 of the other worker of two", 1, signal.SIGKILL),
    ("kill -9 of the chief of two workers", 0, signal.SIGKILL),
)


def _multi_worker_cases(root, npz):
    """Two workers on 127.0.0.1; after a few steps one gets a signal. A Ctrl-C or
    SIGTERM stops both at one step with everything saved; a killed worker makes
    the other stop (exit 5) within two minutes, with no traceback. Then both
    start again and train two more steps."""
    rows = []
    flags = ["--batch_size=16", "--noise_dim=16", "--num_examples_to_generate=4",
             "--checkpoint_every=2", "--epochs=40", "--strategy=multi_worker"]
    for index, (name, victim, number) in enumerate(MULTI_WORKER_CASES):
        workdir = os.path.join(root, f"workers {index}")
        command = [sys.executable, "train.py", f"--data_dir={npz}", f"--workdir={workdir}",
                   *flags]
        workers = _start_workers(command, workdir)
        losses = os.path.join(workdir, "losses.csv")
        began = time.time()
        while not (os.path.exists(losses) and len(_logged_steps(losses)) >= 5):
            if time.time() - began > 300 or any(w.poll() is not None for w in workers):
                break
            time.sleep(0.2)
        workers[victim].send_signal(number)
        signalled = time.time()
        statuses, logs = _wait_workers(workers, workdir, timeout=120)
        seconds = time.time() - signalled
        survivor = 1 - victim
        steps = _logged_steps(losses)
        if number == signal.SIGKILL:
            expected = "the other exits 5 in < 120 s, resumes"
            stopped = statuses[survivor] == 5 and "another worker" in logs[survivor]
        else:
            expected = "both stop at one step, saved, resume"
            stopped = (statuses == [128 + number] * 2 and len(steps) and os.path.exists(
                os.path.join(workdir, "checkpoints", f"ckpt-{steps[-1]}.index")))
        tracebacks = sum("Traceback" in log for log in logs)
        target = (steps[-1] if steps else 0) + 2
        resume = command + [f"--max_steps={target}"]
        resumed, _ = _wait_workers(_start_workers(resume, workdir), workdir, timeout=300)
        problems = check_artifacts(workdir)
        ok = (stopped and not tracebacks and resumed == [0, 0] and not problems
              and _logged_steps(losses)[-1] == target)
        outcome = (f"exit {statuses[victim]} and {statuses[survivor]} in {seconds:.0f} s, "
                   f"{tracebacks} tracebacks; resumed: exit {resumed}, {len(problems)} problems")
        rows.append((name, expected, outcome, ok))
        print(f"{name}: {outcome}", flush=True)
    return rows


def _start_workers(command, log_prefix):
    ports = []
    for _ in range(2):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    return [subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL,
                             stderr=open(f"{log_prefix}.{index}.log", "w"),
                             env={**os.environ, "TF_CONFIG": json.dumps(
                                 {"cluster": cluster, "task": {"type": "worker",
                                                               "index": index}})})
            for index in range(2)]


def _wait_workers(workers, log_prefix, timeout):
    """Exit statuses (None: still running after `timeout` s, then killed) and logs."""
    deadline = time.time() + timeout
    statuses = []
    for worker in workers:
        try:
            statuses.append(worker.wait(timeout=max(0.1, deadline - time.time())))
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
            statuses.append(None)
    return statuses, [open(f"{log_prefix}.{index}.log").read() for index in range(2)]


def _corrupt_folder(folder, images, rng):
    """Real digits as PNG and JPEG, and as many corrupted copies (flipped bytes,
    truncations, a damaged chunk type)."""
    os.makedirs(folder)
    for index, image in enumerate(images):
        suffix = ".png" if index % 2 else ".jpg"
        path = os.path.join(folder, f"digit{index:03d}{suffix}")
        Image.fromarray(image).save(path)
        data_bytes = bytearray(open(path, "rb").read())
        if index % 3 == 0:
            data_bytes = data_bytes[:rng.randrange(1, len(data_bytes))]
        else:
            for _ in range(rng.randint(1, 6)):
                data_bytes[rng.randrange(len(data_bytes))] = rng.randrange(256)
        with open(os.path.join(folder, f"broken{index:03d}{suffix}"), "wb") as f:
            f.write(bytes(data_bytes))


def _logged_steps(path):
    """The steps losses.csv at `path` holds, read as train.py reads it on resume."""
    return CsvLog(path, recorder.LOSS_FIELDS, kind="losses file").load(10**9).column("step")


if __name__ == "__main__":
    cli.run(main, flags.FLAGS)
