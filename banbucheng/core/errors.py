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


class Unreadable(Tampered):
    """A value in the store that its column's type cannot be read as (written behind the
    tool's back): the command stops on it, naming it where it can (store.Store.unreadable)."""


class OutOfCalendar(InvalidInput, ValueError):
    """A date, or a deadline counted from one, outside the years the working-day
    calendar spans (2000–2099). A ValueError for the engine's callers, one Chinese
    line for the user; str() keeps the engine's precise wording for developers."""

    def __init__(self, detail: str) -> None:
        super().__init__("日期或期限超出工作日历的范围（2000 年至 2099 年），无法计算")
        self.args = (detail,)
