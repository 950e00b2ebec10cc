"""What the command-line tools print: this package's progress, not TensorFlow's chatter."""

import logging

from absl import logging as absl_logging


def show_only_our_info_logs():
    """Keeps INFO lines from dcgan_tf and only warnings and errors from the rest.

    TensorFlow logs routine INFO lines (checkpoint sharding, SavedModel assets)
    through absl and through its own 'tensorflow' logger; between them they bury
    the progress bar and the run's own messages.
    """
    absl_logging.set_verbosity(absl_logging.WARNING)
    logging.getLogger("tensorflow").setLevel(logging.WARNING)
    logging.getLogger("dcgan_tf").setLevel(logging.INFO)
