"""The one exception type for bad input from the user."""


class InputError(ValueError):
    """A flag value, data file or run directory is unusable.

    The message names the input and says what is wrong with it; command-line
    tools print it (no traceback) and exit with status 2.
    """
