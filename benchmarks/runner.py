"""What the benchmarks share: timed trainings pinned to a core, and a resumable queue.

A benchmark is a list of runs, each a real command. `run_queue` runs them one per
core (`taskset`), two benchmarks on one machine sharing the list through lock
files; `timed_run` keeps each run's time on disk, so a benchmark killed and started
again adds up the time of every attempt.
"""

import concurrent.futures
import json
import os
import queue
import subprocess
import time


def pinned(core):
    """The command prefix that pins a process to `core` (None: no pinning)."""
    return ["taskset", "-c", str(core)] if core is not None else []


def timed_run(command, workdir, core=None):
    """Runs `command` pinned to `core`, appending its output to workdir/benchmark.log.

    Returns:
        (exit status, seconds of this and every earlier attempt of the same run).
    """
    seconds_file = os.path.join(workdir, "benchmark_seconds.txt")
    spent = float(open(seconds_file).read()) if os.path.exists(seconds_file) else 0.0
    start = time.time()
    with open(os.path.join(workdir, "benchmark.log"), "a") as log:
        process = subprocess.Popen(pinned(core) + command, stdout=log, stderr=subprocess.STDOUT)
        while True:  # The time so far is written every few seconds.
            try:
                status = process.wait(timeout=5)
                break
            except subprocess.TimeoutExpired:
                write_seconds(seconds_file, spent + time.time() - start)
    write_seconds(seconds_file, spent + time.time() - start)
    return status, spent + time.time() - start


def write_json(path, value):
    """Writes `value` as JSON to `path` atomically (a stopped benchmark leaves the old
    file or the new one, never half of one)."""
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(value, f, indent=1, ensure_ascii=False)
    os.replace(path + ".tmp", path)


def write_seconds(path, seconds):
    with open(path + ".tmp", "w") as f:
        f.write(f"{seconds:.1f}")
    os.replace(path + ".tmp", path)


def claim(lock):
    """Takes a run for this process by creating the file `lock`: returns its path,
    or None when a live process holds it. Two benchmarks share one queue this way."""
    os.makedirs(os.path.dirname(lock), exist_ok=True)
    for _ in range(2):
        try:
            descriptor = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                holder = int(open(lock).read() or 0)
                os.kill(holder, 0)  # Raises if no such process.
                return None
            except (ProcessLookupError, ValueError):
                os.remove(lock)  # Left by a benchmark that was killed.
                continue
        os.write(descriptor, str(os.getpid()).encode())
        os.close(descriptor)
        return lock
    return None


def run_queue(items, cores, lock_path, is_due, work):
    """Runs `work(item, core)` for every item, one at a time per core.

    Args:
        items: the runs, in priority order.
        cores: the cores to pin to, one run each at a time; [] = one run, unpinned.
        lock_path: item -> its lock file (see claim).
        is_due: item -> whether it still needs running (checked again once claimed).
        work: (item, core) -> a line to print when it is done.
    """
    free = queue.Queue()
    for core in cores or [None]:
        free.put(core)

    def run(item):
        core = free.get()
        lock = claim(lock_path(item))
        try:
            if lock is None or not is_due(item):
                return  # Another benchmark on this machine has it, or finished it.
            began = time.time()
            line = work(item, core)
            print(f"[{time.strftime('%H:%M')}] {line}, {time.time() - began:.0f} s", flush=True)
        finally:
            if lock:
                os.remove(lock)
            free.put(core)

    with concurrent.futures.ThreadPoolExecutor(free.qsize()) as pool:
        for future in [pool.submit(run, item) for item in items]:
            try:
                future.result()
            except Exception as e:  # One failed run must not stop the others.
                print(f"FAILED: {e}", flush=True)
