"""The exceptions the CLI reports on one line: bad input (exit 2) and a diverged run (exit 1),
and where in a file bad input stands."""


class InputError(Exception):
    """Input that cannot be used as given: a file, a row, a key or a value.

    The message names where the problem is (file and line, or params key) and what was
    expected, so that it is useful alone on one line.
    """


def not_utf8_at(data: bytes, offset: int) -> tuple[int, int]:
    """(line, column) of the byte at `offset`, the first of `data` that is not UTF-8, as an editor
    counts them: 1-based, the column in characters (the bytes before it on its line decode)."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    return data.count(b"\n", 0, offset) + 1, len(data[line_start:offset].decode("utf-8")) + 1


class TrainingDiverged(Exception):
    """A loss became NaN or infinite: the message names it, the step, and the checkpoint kept."""
