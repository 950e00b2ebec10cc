"""Ctrl-C and SIGTERM during training: finish the step, save, then stop.

A signal arriving in the middle of a step would otherwise kill the process
between a checkpoint's files, or between an artifact's write and rename. Inside
`StopRequest`, the first SIGINT or SIGTERM is only recorded; the training loop
polls `requested` after each step, saves everything and raises
`TrainingInterrupted`. A second signal ends the process at once, as usual.
"""

import logging
import os
import signal
import threading

logger = logging.getLogger(__name__)

HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class TrainingInterrupted(Exception):
    """Training stopped on a signal after saving its state.

    Attributes:
        signal_number: the signal received (signal.SIGINT or signal.SIGTERM).
        step: the step the saved checkpoint holds.
    """

    def __init__(self, signal_number, step, elsewhere=False):
        """`elsewhere`: the signal went to another worker of a multi-worker run."""
        name = signal.Signals(signal_number).name
        super().__init__(f"stopped by {name}{' sent to another worker' if elsewhere else ''} "
                         f"at step {step}")
        self.signal_number = signal_number
        self.step = step

    @property
    def exit_status(self):
        """128 + the signal number, as a shell reports a process killed by it."""
        return 128 + self.signal_number


class StopRequest:
    """Context manager that defers SIGINT and SIGTERM until `requested` is polled.

    Signal handlers can only be installed from the main thread; elsewhere (a
    worker thread, some notebook kernels) this does nothing and signals act
    as they normally do.
    """

    def __init__(self):
        self.signal_number = None
        self._previous = {}

    @property
    def requested(self):
        return self.signal_number is not None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for number in HANDLED_SIGNALS:
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc_info):
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}

    def _handle(self, number, frame):
        if self.requested:  # A second signal: stop waiting, die as the signal says.
            signal.signal(number, signal.SIG_DFL)
            os.kill(os.getpid(), number)
            return
        self.signal_number = number
        logger.warning("%s received: saving a checkpoint after this step. Send it again to "
                       "quit at once without saving.", signal.Signals(number).name)
