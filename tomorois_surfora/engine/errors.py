"""Exceptions the engine raises for problems a user can fix (bad files, bad parameters)."""


class EngineError(Exception):
    """A failure with a message meant for the user; the CLI prints it on one line, without a traceback."""


class InputError(EngineError, ValueError):
    """Bad input: a file that cannot be read, a parameter out of range, mismatched shapes."""


def raise_problems(problems):
    """Raise one :class:`InputError` listing every message in ``problems``, if there are any."""
    if problems:
        raise InputError("; ".join(problems))
