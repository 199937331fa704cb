"""The exceptions the CLI reports on one line: bad input (exit 2) and a diverged run (exit 1)."""


class InputError(Exception):
    """Input that cannot be used as given: a file, a row, a key or a value.

    The message names where the problem is (file and line, or params key) and what was
    expected, so that it is useful alone on one line.
    """


class TrainingDiverged(Exception):
    """A loss became NaN or infinite: the message names it, the step, and the checkpoint kept."""
