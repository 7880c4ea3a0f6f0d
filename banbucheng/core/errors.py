"""One error hierarchy; cli.py turns each into a Chinese one-line message and an exit code."""


class BbcError(Exception):
    """A refusal the user can act on; the message is Chinese and names no personal data."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(BbcError):
    """A value the user typed is malformed or out of range."""


class NotFound(BbcError):
    """No case, unit or record by that name or number."""


class WrongState(BbcError):
    """The action is not allowed in the case's current state."""


class StoreError(BbcError):
    """The store cannot be opened or written."""

    exit_code = 3


class Tampered(BbcError):
    """The record of a case disagrees with its own sealed history (changed behind the
    tool's back): nothing is done on it until `bbc verify` has been looked at."""

    exit_code = 7
