"""Exceptions the engine raises for problems a user can fix (bad files, bad parameters)."""
import os


class EngineError(Exception):
    """A failure with a message meant for the user; the CLI prints it on one line, without a traceback."""


class InputError(EngineError, ValueError):
    """Bad input: a file that cannot be read, a parameter out of range, mismatched shapes."""


def raise_problems(problems):
    """Raise one :class:`InputError` listing every message in ``problems``, if there are any."""
    if problems:
        raise InputError("; ".join(problems))


ERROR_FILE_VARIABLE = "TOMOROIS_ERROR_FILE"
EXIT_FILE_VARIABLE = "TOMOROIS_EXIT_FILE"


def report_error(message):
    """Append ``message`` as one line to the file named by $TOMOROIS_ERROR_FILE, when set.

    A Scipion protocol sets it for each engine run, so the failure it records for an item is the engine's own
    message (the file and the problem), not the command line that failed.
    """
    path = os.environ.get(ERROR_FILE_VARIABLE)
    if path:
        try:
            with open(path, "a") as handle:
                handle.write(" ".join(str(message).split()) + "\n")
        except OSError:
            pass


def report_exit(code):
    """Write the exit code to the file named by $TOMOROIS_EXIT_FILE, when set.

    A job sent to a queue (SLURM) loses its exit status on the way back to Scipion; this file is how a protocol
    tells a failed run from a finished one, and a run killed for memory or time (no file) from both.
    """
    path = os.environ.get(EXIT_FILE_VARIABLE)
    if path:
        try:
            with open(path, "w") as handle:
                handle.write(f"{code}\n")
        except OSError:
            pass
