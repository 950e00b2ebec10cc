"""The tf.distribute strategy a run trains under (--strategy).

  default       one device: the first GPU if there is one, else the CPU.
  mirrored      MirroredStrategy over every GPU of this machine; without GPUs,
                over its logical CPU devices (one, unless the program split the
                CPU, which is how the tests get two replicas).
  multi_worker  MultiWorkerMirroredStrategy over the machines listed in the
                TF_CONFIG environment variable; every worker runs the same
                command, and worker 0 (or the 'chief' task) writes the run.

Under both distributed strategies each step's global batch (--batch_size) is
split across replicas, each replica's loss is its share of the mean over the
global batch, and the optimizers sum gradients over replicas, so a step computes
what one device would on the whole batch (up to BatchNorm statistics, which
are per replica unless --sync_batchnorm).
"""

import json
import os

import tensorflow as tf

from dcgan_tf.errors import InputError
from dcgan_tf.interrupts import HANDLED_SIGNALS


def create_strategy(name):
    """The strategy for --strategy=`name`.

    Call it before any other TensorFlow work in the process: MultiWorkerMirrored
    has to configure the runtime's collective ops first.

    Raises:
        InputError: multi_worker without a usable TF_CONFIG.
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = (tf.config.list_logical_devices("GPU")
                   or tf.config.list_logical_devices("CPU"))
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    read_tf_config()  # For a clear error; the strategy reads TF_CONFIG itself.
    return tf.distribute.MultiWorkerMirroredStrategy()


def read_tf_config():
    """TF_CONFIG, parsed and checked.

    Returns:
        the parsed dict, with 'cluster' (task type -> list of 'host:port') and
        'task' ({'type': ..., 'index': ...}).

    Raises:
        InputError: TF_CONFIG is unset, not JSON, or names a task not in its cluster.
    """
    text = os.environ.get("TF_CONFIG", "")
    example = ('TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
               '"task": {"type": "worker", "index": 0}}\'')
    if not text:
        raise InputError("--strategy=multi_worker needs the TF_CONFIG environment variable, "
                         f"e.g. {example} on the first machine (index 1 on the second).")
    try:
        tf_config = json.loads(text)
        workers = tf_config["cluster"]
        task_type, index = tf_config["task"]["type"], int(tf_config["task"]["index"])
    except (ValueError, KeyError, TypeError) as error:
        raise InputError(f"TF_CONFIG is not a valid cluster description ({error!r}); "
                         f"expected e.g. {example}.") from None
    if not 0 <= index < len(workers.get(task_type, ())):
        raise InputError(f"TF_CONFIG's task {task_type} {index} is not in its cluster "
                         f"{workers}.")
    return tf_config


def is_distributed(strategy):
    """Whether `strategy` is one of ours other than the default."""
    return isinstance(strategy, (tf.distribute.MirroredStrategy,
                                 tf.distribute.MultiWorkerMirroredStrategy))


def is_chief(strategy):
    """Whether this process writes the run's artifacts: always, except for the
    workers of a multi-worker run other than the chief (or worker 0)."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return True
    resolver = strategy.cluster_resolver
    task_type, task_id = resolver.task_type, resolver.task_id
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return task_type == "chief" or (not has_chief and task_type == "worker" and task_id == 0)


def wait_for_workers(strategy):
    """Returns once every worker of a multi-worker run has called it (at once
    under the other strategies).

    `training.train` calls it between the checks every worker makes of the
    workdir and the chief writing there, so no worker reads a run that the
    chief is halfway through creating.
    """
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        one = tf.function(lambda: tf.constant(1.0))
        strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(one), axis=None)


class WorkerLost(Exception):
    """Another worker of a multi-worker run stopped answering (killed, crashed or
    cut off); this worker stopped too. Checkpoints already written are intact."""


# TensorFlow's error when a collective's peer is gone: its coordination service
# reports the task unhealthy (no heartbeats), or its address refuses connections.
PEER_ERRORS = (tf.errors.UnavailableError,)


class AgreedStop:
    """Ctrl-C or SIGTERM on any worker stops every worker at the same step.

    Called after each call of the compiled loop (`loop.run`'s `should_stop`);
    every `every` calls each worker adds whether it received a signal, and all
    of them see the sum, so they stop, save and raise at one step. (Agreeing
    waits for every worker's device, so it is not done after every call.) One
    process (no strategy, or MirroredStrategy) just reads its own StopRequest.

    Attributes:
        signal_number: the signal that stopped the run, on every worker (the
            one that received it, then SIGINT before SIGTERM); None if none did.
    """

    def __init__(self, strategy, stop_request, every=10):
        self._stop_request = stop_request
        self._every = every
        self._calls = 0
        self._agreed = None
        self._reduce = None
        if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
            identity = tf.function(tf.identity)
            self._reduce = lambda received: strategy.reduce(
                tf.distribute.ReduceOp.SUM, strategy.run(identity, args=(received,)), axis=None)

    def __call__(self):
        if self._reduce is None:
            return self._stop_request.requested
        self._calls += 1
        if self._agreed is None and self._calls % self._every == 0:
            local = self._stop_request.signal_number
            received = tf.constant([float(local == number) for number in HANDLED_SIGNALS])
            totals = self._reduce(received).numpy()
            if totals.any():
                self._agreed = HANDLED_SIGNALS[int(totals.nonzero()[0][0])]
        return self._agreed is not None

    @property
    def signal_number(self):
        return self._stop_request.signal_number or self._agreed



def distribute(strategy, dataset):
    """The dataset split across the strategy's replicas, global batch preserved.

    Workers read the same in-memory data in the same order, so each keeps its
    share of every batch (data sharding).
    """
    if not is_distributed(strategy):
        return dataset
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return strategy.experimental_distribute_dataset(dataset.with_options(options))
