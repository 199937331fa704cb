"""The one exception type for bad input: the CLI prints its message on one line and exits 2."""


class InputError(Exception):
    """Input that cannot be used as given: a file, a row, a key or a value.

    The message names where the problem is (file and line, or params key) and what was
    expected, so that it is useful alone on one line.
    """
