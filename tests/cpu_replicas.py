"""Runs train.py with the CPU split into N logical devices, so that
--strategy=mirrored has N replicas on a machine without GPUs:

    python tests/cpu_replicas.py N [train.py flags]
"""

import os
import runpy
import sys

import tensorflow as tf

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

if __name__ == "__main__":
    replicas = int(sys.argv[1])
    tf.config.set_logical_device_configuration(
        tf.config.list_physical_devices("CPU")[0],
        [tf.config.LogicalDeviceConfiguration()] * replicas)
    sys.argv = ["train.py", *sys.argv[2:]]
    runpy.run_path(os.path.join(REPO, "train.py"), run_name="__main__")
