"""Text on a terminal, where a Chinese character takes two columns: its width, lines
wrapped between Chinese characters but never inside a Latin word, a case number, a
date and time or a masked number, and text shortened with "…" to a width.

Used by the help (commands/chinese.py) and the tables (reports/render.py).
"""

from __future__ import annotations

import bisect
import functools
import inspect
import re
import unicodedata
from itertools import accumulate

_CJK = "\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\u3000-\u303f"
# Tokens: a date with its time (never split at the space), a run of spaces, one
# Chinese character, or a run of anything else (a word, a case number, 137****1111).
_STAMP = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(?::\d{2})?"


@functools.cache
def _tokens() -> re.Pattern[str]:
    """Compiled on first use: a class of the CJK ranges takes milliseconds to compile,
    spent only by a command that wraps or measures text."""
    return re.compile(rf"({_STAMP})|([ \t\n]+)|([{_CJK}])|([^ \t\n{_CJK}]+)")


_NO_LINE_START = set("，。、；：？！）」』》〉】…,.;:?!)]}%")
_NO_LINE_END = set("（「『《〈【([{")


def is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in "WF"


@functools.lru_cache(maxsize=8192)
def _columns(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def width(text: str) -> int:
    """Columns a text takes on a terminal: CJK and full-width characters count two."""
    if text.isascii():
        return len(text)
    # A cached look-up per character, mapped without a Python frame per character:
    # a roll-up measures tens of thousands of characters.
    return sum(map(_columns, text))


def ellipsize(text: str, columns: int) -> str:
    """`text` on one line of at most `columns` columns, ending in "…" if shortened."""
    text = " ".join(text.split())
    if width(text) <= columns:
        return text
    # The longest beginning that leaves a column for "…": its running widths, bisected.
    kept = bisect.bisect_right(list(accumulate(map(_columns, text))), columns - 1)
    return text[:kept].rstrip() + "…"


def longest_word(text: str) -> int:
    """The width of the widest part of `text` that `wrap` never breaks."""
    return max(
        (width(stamp or word) for stamp, _, _, word in _tokens().findall(text) if stamp or word),
        default=0,
    )


def wrap(text: str, columns: int) -> list[str]:
    """`text` in lines of at most `columns` columns. Chinese breaks between any two
    characters; Latin words, case numbers, masked numbers and a date with its time
    only at spaces around them (cut only when longer than a whole line); no line
    starts with a closing mark or ends with an opening one."""
    columns = max(columns, 2)
    lines: list[list[str]] = []
    for paragraph in text.split("\n"):
        lines.append([])
        _wrap_into(lines, paragraph, columns)
    return ["".join(line).rstrip() for line in lines] or [""]


def _wrap_into(lines: list[list[str]], text: str, columns: int) -> None:
    used = 0
    for stamp, space, cjk, word in _tokens().findall(text):
        token = stamp or space or cjk or word
        line = lines[-1]
        if space:
            if line:  # kept as typed (two spaces part fields: 群*  电话 …), tabs as one
                line.append(" " * len(space))
                used += len(space)
            continue
        size = width(token)
        if used + size > columns and line:
            while line and line[-1].isspace():
                line.pop()
            carried: list[str] = []
            # A closing mark stays with the character before it, an opening one with
            # the character after it.
            if token[0] in _NO_LINE_START:
                while len(line) > 1:
                    carried.insert(0, line.pop())
                    if carried[0][0] not in _NO_LINE_START:
                        break
            while len(line) > 1 and line[-1][-1:] in _NO_LINE_END:
                carried.insert(0, line.pop())
            lines.append(carried)
            line = lines[-1]
            used = sum(width(t) for t in line)
            if used + size > columns and line:  # what was carried leaves no room
                lines[-2].extend(carried)
                line.clear()
                used = 0
        while size > columns - used:  # longer than a line: cut it
            cut = _fit(token, columns - used)
            line.append(token[:cut])
            token = token[cut:]
            size = width(token)
            lines.append([])
            line, used = lines[-1], 0
        line.append(token)
        used += size


def _fit(token: str, columns: int) -> int:
    used = 0
    for i, ch in enumerate(token):
        used += width(ch)
        if used > columns:
            return max(i, 1)
    return len(token)


def paragraphs(text: str) -> list[str]:
    """A docstring's paragraphs, each on one line: lines are joined with a space
    between Latin words and with nothing between Chinese characters."""
    out = []
    for block in re.split(r"\n\s*\n", inspect.cleandoc(text or "")):
        joined = ""
        for line in block.splitlines():
            line = line.strip()
            if not line:
                continue
            if joined and not (is_wide(joined[-1]) or is_wide(line[0])):
                joined += " "
            joined += line
        if joined:
            out.append(joined)
    return out
