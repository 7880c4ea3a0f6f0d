"""Strict decoding: one encoding for the whole file (its BOM, --encoding, or detection),
and a file that does not decode cleanly is refused naming its row, never stored as
mojibake (张三 as 寮犱笁)."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from banbucheng.core.errors import InvalidInput
from banbucheng.trust import importer

NOW = "2021-05-06 10:00"
HEADER = "姓名,电话,反映事项,受理时间\n"
ROWS = [
    "张三,13712341111,诊所两证名称不一致，供货商拒绝供药,2021-04-01 09:30\n",
    "李海清,13900001111,社保卡未年检，养老金停发,2021-04-06 14:20\n",
    "霍某某,13712342222,营业执照住所变更登记一直不予受理,2021-04-02 10:00\n",
]
TEXT = HEADER + "".join(ROWS)


def damaged(row: int) -> bytes:
    """The UTF-8 file with one stray byte pair in the given row (header = row 1)."""
    lines = TEXT.encode("utf-8").splitlines(keepends=True)
    lines[row - 1] = lines[row - 1][:6] + b"\xc8\xfd" + lines[row - 1][6:]
    return b"".join(lines)


def test_a_stray_byte_pair_in_utf8_is_refused_naming_its_row(bbc, tmp_path, snapshot):
    path = tmp_path / "台账.csv"
    path.write_bytes(damaged(3))
    bbc("list")
    check = snapshot()
    message = bbc.refused("import", str(path), now=NOW)
    assert message.startswith("错误：第 3 行有不是 UTF-8 的字节")
    check()


@pytest.mark.parametrize(
    ("encoding", "option"),
    [("utf-8", None), ("utf-8-sig", None), ("gbk", None), ("gb18030", None),
     ("utf-16", None), ("gbk", "gbk"), ("gbk", "GB18030"), ("utf-8", "UTF8"),
     ("utf-16-le", "utf-16-le"), ("gb18030", "cp936")],
)  # fmt: skip
def test_one_encoding_for_the_whole_file(bbc, tmp_path, encoding, option):
    path = tmp_path / "a.csv"
    path.write_bytes(TEXT.encode(encoding))
    extra = ["--encoding", option] if option else []
    out = bbc("import", str(path), *extra, now=NOW)
    assert len(out.stdout.split()) == 3
    shown = bbc.json("show", "BB20210401-001", "--reveal")
    assert shown["citizen"] == "张三"


@pytest.mark.parametrize(
    ("content", "option", "message"),
    [
        (TEXT.encode("gbk"), "utf-8", "第 1 行有不是 UTF-8 编码的字节"),
        (TEXT.encode("utf-8"), "latin-1", "未知的编码"),
        (TEXT.encode("utf-8"), "rot13", "未知的编码"),
        (TEXT.encode("utf-8"), "x" * 500, "未知的编码"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "gbk", "BOM）表明是 UTF-8 编码，与 --encoding"),
        (HEADER.encode("gbk") + b"\x80\x81" * 10, None, "无法识别文件编码"),
        (TEXT.encode("gbk") + b"\xff\n", None, "第 5 行起无法解读"),
    ],
)
def test_refusals_name_the_row_and_change_nothing(
    bbc, tmp_path, snapshot, content, option, message
):
    path = tmp_path / "a.csv"
    path.write_bytes(content)
    bbc("list")
    check = snapshot()
    extra = ["--encoding", option] if option else []
    assert message in bbc.refused("import", str(path), *extra, now=NOW)
    check()


def test_rows_are_records_as_excel_counts_them():
    """A cell with line breaks is one row; the row named is the record's."""
    text = HEADER + '张三,13712341111,"第一行\n第二行\n第三行",2021-04-01\n' + ROWS[1]
    data = text.encode("utf-8")
    at = data.index("李海清".encode())
    broken = data[: at + 3] + b"\xff" + data[at + 3 :]
    with pytest.raises(InvalidInput, match="第 3 行"):
        importer.decode(broken)


HAN = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)  # in GBK, as registers are
CELL = st.text(st.one_of(HAN, st.sampled_from("abc123，。（）- ")), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(CELL, min_size=4, max_size=4), min_size=1, max_size=8))
@example(rows=[["1", "1", "1", "丈丂为"]])  # its GBK bytes pair into valid two-byte UTF-8
def test_clean_files_decode_to_what_was_written(rows):
    text = "".join(",".join(r) + "\n" for r in rows)
    assert importer.decode(text.encode("utf-8")) == text
    assert importer.decode(codecs.BOM_UTF8 + text.encode("utf-8")) == text
    gbk = text.encode("gbk")
    try:
        gbk.decode("utf-8")
    except UnicodeDecodeError:
        assert importer.decode(gbk) == text  # GBK that is not also UTF-8
    assert importer.decode(gbk, "gbk") == text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.text(HAN, min_size=8, max_size=30), min_size=2, max_size=8),
    st.data(),
)
def test_damaged_utf8_is_refused_at_its_row_never_decoded(lines, data):
    """Mostly valid UTF-8 with a stray byte: refused, naming the row it is in."""
    encoded = [line.encode("utf-8") + b"\n" for line in lines]
    row = data.draw(st.integers(1, len(lines)), label="row")
    at = data.draw(st.integers(0, len(lines[row - 1])), label="character") * 3
    stray = data.draw(st.sampled_from([b"\xff", b"\xc8\xfd", b"\x80", b"\xe5\xbc"]))
    encoded[row - 1] = encoded[row - 1][:at] + stray + encoded[row - 1][at:]
    with pytest.raises(InvalidInput) as refused:
        importer.decode(b"".join(encoded))
    assert refused.value.message.startswith(f"第 {row} 行有不是 UTF-8 的字节")


def test_xlsx_ignores_the_text_encoding(bbc, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    for row in (HEADER.strip().split(","), ROWS[0].strip().split(",")):
        book.active.append(row)
    book.save(tmp_path / "a.xlsx")
    assert bbc("import", str(tmp_path / "a.xlsx"), "--encoding", "gbk", now=NOW).stdout.strip()
