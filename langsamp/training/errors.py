"""How train.py's stops reach the user: bad input (one line, exit status 2) and Ctrl-C during training (where the last
checkpoint is, exit status 130); cli.py prints them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


class BadInput(ValueError):
    """An argument, corpus or dataset that cannot be trained on; raised before the model is built."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during training; the message says where the last checkpoint is and how to continue from it."""


@contextlib.contextmanager
def bad_input() -> Iterator[None]:
    """What the checks raise for a value the user gave becomes BadInput: one line, exit status 2."""
    try:
        yield
    except BadInput:
        raise
    except (ValueError, FileNotFoundError, NotADirectoryError, PermissionError) as error:
        raise BadInput(str(error)) from error
