"""Which encoding a CSV file is in, for `bbc import`: one for the whole file, from its
BOM, a declared `--encoding`, or detection, and a file that does not decode cleanly
refused, naming the row (never stored as mojibake)."""

from __future__ import annotations

import codecs
import csv
import io

from banbucheng.core.errors import InvalidInput

# Encodings a register may be saved in; --encoding takes these and their aliases.
ENCODINGS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8",
    "gb18030": "GB18030",
    "gbk": "GBK",
    "gb2312": "GB2312",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16",
    "utf-16-be": "UTF-16",
    "big5": "Big5",
}
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def check_encoding(name: str) -> str:
    """The codec for --encoding (utf-8, gbk, gb18030, utf-16, big5 and their aliases)."""
    try:
        codec = codecs.lookup(name.strip()).name if len(name) < 40 else ""
    except (LookupError, ValueError):
        codec = ""
    if codec not in ENCODINGS:
        raise InvalidInput(
            "未知的编码（--encoding），应为 utf-8、gb18030、gbk、gb2312、utf-16 或 big5 之一"
        )
    return codec


def decode(data: bytes, encoding: str | None = None) -> str:
    """The whole file in one encoding: the BOM's, else the declared one, else UTF-8 if
    it decodes cleanly, else GB18030 (a superset of GBK and GB2312) unless the file is
    mostly valid UTF-8 with a few bad bytes (a damaged UTF-8 file, which GB18030 would
    turn into mojibake). A file that does not decode cleanly is refused, naming the row."""
    bom = next((codec for mark, codec in _BOMS if data.startswith(mark)), None)
    if bom is not None:
        if encoding is not None and ENCODINGS[encoding] != ENCODINGS[bom]:
            raise InvalidInput(
                f"文件开头的字节顺序标记（BOM）表明是 {ENCODINGS[bom]} 编码，"
                f"与 --encoding 指定的 {ENCODINGS[encoding]} 不符"
            )
        return _strict(data, bom)
    if encoding is not None:
        return _strict(data, encoding)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    loose = data.decode("utf-8", errors="surrogateescape")  # bad bytes as U+DC80..U+DCFF
    bad = sum(1 for ch in loose if "\udc80" <= ch <= "\udcff")
    # Mostly valid UTF-8: Chinese in UTF-8 is three bytes a character, so only those
    # count (GBK bytes often pair into valid two-byte ones: 丈丂为 reads as ?Ɂ@Ϊ).
    wide = sum(1 for ch in loose if ch >= "\u0800") - bad
    if wide > bad:
        raise InvalidInput(
            f"第 {_row_at(data, utf8_error.start, 'utf-8')} 行有不是 UTF-8 的字节：文件大部分是"
            " UTF-8 编码，但这一行已损坏；请在 Excel/WPS 中核对这一行后另存为 UTF-8 CSV"
        )
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        row = _row_at(data, exc.start, "gb18030")
        raise InvalidInput(
            f"无法识别文件编码：既不是 UTF-8 也不是 GBK（GB18030），第 {row} 行起无法解读；"
            "请另存为 UTF-8 或 GBK 编码的 CSV，或 XLSX，或用 --encoding 指明编码"
        ) from None


def _strict(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"第 {_row_at(data, exc.start, encoding)} 行有不是 {ENCODINGS[encoding]} 编码的字节，"
            "文件可能已损坏或混用了编码；请核对这一行，或用 --encoding 指明正确的编码"
        ) from None


def _row_at(data: bytes, offset: int, encoding: str) -> int:
    """The row (as Excel shows it: a record, whatever line breaks its cells hold) in
    which byte `offset` lies; everything before it decodes cleanly."""
    try:
        text = data[:offset].decode(encoding)
    except UnicodeDecodeError:  # a multi-byte character cut at the offset
        return data[:offset].count(b"\n") + 1
    text = text.lstrip("\ufeff")
    try:
        records = sum(1 for _ in csv.reader(io.StringIO(text + "x", newline="")))
    except csv.Error:
        return text.count("\n") + 1
    return max(records, 1)
