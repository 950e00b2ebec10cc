"""Runs train.py as one worker of a multi-worker run whose chief is slow to
write the workdir: the chief pauses SECONDS between creating checkpoints/ and
writing config.json, and the other workers start checking the workdir half
that time late, in the middle of the pause. A worker that checked the workdir
then would find a run without its settings.

    python tests/slow_chief.py SECONDS [train.py flags]
"""

import os
import runpy
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

if __name__ == "__main__":
    from dcgan_tf import distribute, run_dir

    seconds = float(sys.argv[1])
    create, compare = run_dir.create, run_dir.compare

    def create_slowly(config, image_data=None):
        os.makedirs(run_dir.of(config).checkpoints, exist_ok=True)
        time.sleep(seconds)
        create(config, image_data)

    def compare_late(config):
        if distribute.read_tf_config()["task"]["index"]:
            time.sleep(seconds / 2)
        return compare(config)

    run_dir.create, run_dir.compare = create_slowly, compare_late
    sys.argv = ["train.py", *sys.argv[2:]]
    runpy.run_path(os.path.join(REPO, "train.py"), run_name="__main__")
