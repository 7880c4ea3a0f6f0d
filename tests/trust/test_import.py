"""`bbc import`: spreadsheets as Excel and WPS save them, every bad row named, all or
nothing, and imported cases that look as if they had been typed in."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from banbucheng.trust import importer

NOW = "2021-05-06 10:00"
ZH = [
    "姓名",
    "电话",
    "反映事项",
    "受理时间",
    "分类",
    "子类",
    "主办单位",
    "办结时间",
    "办理结果",
    "满意度",
]
EN = [
    "name",
    "phone",
    "matter",
    "received_at",
    "category",
    "subtype",
    "unit",
    "closed_at",
    "result",
    "satisfaction",
]
HUO = [
    "霍某某",
    "13712341111",
    "诊所两证名称不一致，供货商拒绝供药",
    "2021-04-01 09:30",
    "应办未办",
    "",
    "中心综合协调科",
    "2021-04-06 11:00",
    "中心出具证明",
    "非常满意",
]
LI = [
    "李海清",
    "13900001111",
    "社保卡未年检，养老金停发",
    "2021/4/6 14:20",
    "应办未办",
    "很难办",
    "省农保中心",
    "",
    "",
    "",
]


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8", delimiter=",") -> Path:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def numbers(out) -> list[str]:
    return out.stdout.split()


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("utf-8", ","), ("utf-8-sig", ","), ("gbk", ","), ("gb18030", ","), ("utf-16", "\t")],
)
def test_csv_as_excel_and_wps_save_it(bbc, tmp_path, encoding, delimiter):
    path = write_csv(tmp_path / "台账.csv", [ZH, HUO, LI], encoding, delimiter)
    out = bbc("import", str(path), now=NOW)
    assert numbers(out) == ["BB20210401-001", "BB20210406-001"]
    assert "已导入 2 件案件" in out.stderr
    assert "新单位已加入单位名录：中心综合协调科、省农保中心" in out.stderr
    huo = bbc.json("show", "BB20210401-001")
    # The same deadlines as typed commands: Qingming 04-03..05 skipped, 2 working days used.
    assert huo["due_date"] == "2021-04-09" and huo["working_days_used"] == 2
    assert huo["on_time"] is True and huo["status"] == "closed"
    assert huo["satisfaction"] == "very_satisfied" and huo["unit"] == "中心综合协调科"
    assert huo["received_at"] == "2021-04-01T09:30:00+08:00"
    assert huo["registered_by"] == "窗口甲" and huo["citizen"] == "霍*某"
    actions = [e["action"] for e in huo["events"]]
    assert actions == ["register", "classify", "dispatch", "close", "visit", "import"]
    assert huo["events"][0]["at"] == "2021-04-01T09:30:00+08:00"  # as it happened
    imported = huo["events"][-1]
    assert imported["at"] == "2021-05-06T10:00:00+08:00" and imported["action_label"] == "导入"
    assert "台账.csv" in imported["text"] and "第 2 行" in imported["text"]
    assert "SHA-256" in imported["text"]
    li = bbc.json("show", "BB20210406-001")
    assert (
        li["subtype"] == "hard" and li["due_date"] == "2021-04-13" and li["status"] == "dispatched"
    )
    assert bbc.json("verify")["ok"]


def test_gb18030_characters_beyond_gbk(bbc, tmp_path):
    path = write_csv(tmp_path / "a.csv", [ZH, ["刘䶮", *HUO[1:]]], "gb18030")
    bbc("import", str(path), now=NOW)
    assert bbc.json("show", "BB20210401-001", "--reveal")["citizen"] == "刘䶮"


def test_xlsx_with_english_headers_and_excel_cell_types(bbc, tmp_path):
    rows = [
        [*EN, "id_number", "mechanism"],
        [
            "Huo",
            13712341111,
            "两证名称不一致",
            datetime(2021, 4, 1, 9, 30),
            "unhandled",
            None,
            "中心综合协调科",
            date(2021, 4, 9),
            "出具证明",
            "satisfied",
            "11010519491231002X",
            "窗口核实后直接出具证明",
        ],
    ]
    path = write_xlsx(tmp_path / "cases.xlsx", rows)
    bbc("import", str(path), now=NOW)
    case = bbc.json("show", "BB20210401-001", "--reveal")
    assert case["phone"] == "13712341111" and case["id_number"] == "11010519491231002X"
    # A closing day without a time counts as the center's closing time that day.
    assert case["closed_at"] == "2021-04-09T17:30:00+08:00" and case["on_time"] is True
    assert case["mechanism"] == "窗口核实后直接出具证明"


def test_numeric_id_cells_lose_digits_and_the_reason_says_so(bbc, tmp_path, snapshot):
    rows = [
        ["姓名", "电话", "反映事项", "受理时间", "身份证号"],
        ["霍某某", "13712341111", "事项", "2021-04-01", 110105198001011238],
    ]
    path = write_xlsx(tmp_path / "c.xlsx", rows)
    bbc("list")
    check = snapshot()
    result = bbc("import", str(path), now=NOW, code=1)
    assert "第 2 行：" in result.stderr and "设为文本格式" in result.stderr
    check()


def test_header_decorations_and_aliases(bbc, tmp_path):
    header = ["序号", "反映人姓名*", " Phone ", "反映问题（必填）", "受理时间（年-月-日 时:分）"]
    path = write_csv(
        tmp_path / "a.csv", [header, ["1", "霍某某", "13712341111", "事项", "2021-04-01"]]
    )
    out = bbc("import", str(path), now=NOW)
    assert "已忽略未识别的列：序号" in out.stderr
    assert bbc.json("show", "BB20210401-001")["status"] == "registered"


BAD_ROWS = [
    (["霍某", "1234", "事项", "2021-04-01"], "电话格式不正确"),
    (["霍某", "13712341111", "", "2021-04-01"], "缺少反映事项"),
    (["霍某", "13712341111", "事项", "2021-02-30"], "受理时间不存在"),
    (["霍某", "13712341111", "事项", "明天"], "受理时间格式不正确"),
    (["霍某", "13712341111", "事项", "2021-06-01"], "受理时间晚于当前时间"),
    (["霍\x07某", "13712341111", "事项", "2021-04-01"], "控制字符"),
    (["霍某", "13712341111", "事项", "2021-04-01", "随便"], "未知的分类"),
    (["霍某", "13712341111", "事项", "2021-04-01", "完全不能", "很难办"], "只用于「应办未办」"),
    (["霍某", "13712341111", "事项", "2021-04-01", "", "", "某单位"], "缺少分类"),
    (
        ["霍某", "13712341111", "事项", "2021-04-05", "应办未办", "", "", "2021-04-02", "结果"],
        "办结时间早于受理时间",
    ),
    (
        ["霍某", "13712341111", "事项", "2021-04-01", "应办未办", "", "", "2021-04-02"],
        "缺少办理结果",
    ),
    (["霍某", "13712341111", "事项", "2021-04-01", "应办未办", "", "", "", "结果"], "缺少办结时间"),
    (
        ["霍某", "13712341111", "事项", "2021-04-01", "应办未办", "", "", "", "", "满意"],
        "案件未办结",
    ),
    (["霍某", "13712341111", "事项", "2021-04-01", "", "", "", "", "", "", "多余"], "多出 1 个"),
]


def test_every_bad_row_is_named_and_nothing_is_imported(bbc, tmp_path, snapshot):
    rows = [ZH, HUO] + [bad for bad, _ in BAD_ROWS] + [LI]
    path = write_csv(tmp_path / "a.csv", rows)
    bbc("list")
    check = snapshot()
    result = bbc("import", str(path), now=NOW, code=1)
    lines = result.stderr.strip().splitlines()
    for i, (_, reason) in enumerate(BAD_ROWS):
        line = next(x for x in lines if x.startswith(f"第 {i + 3} 行："))
        assert reason in line, (line, reason)
    assert lines[-1] == (
        f"错误：{len(BAD_ROWS)} 行有误，未导入任何案件；"
        "改正后重新导入，或加 --skip-bad 只导入无误的行"
    )
    assert result.stdout == ""
    for secret in ("1234", "霍某", "13712341111"):
        assert secret not in result.stderr
    check()
    # A dry run checks the same and changes nothing either.
    assert "2 行可导入" in bbc("import", str(path), "--dry-run", now=NOW, code=1).stdout
    check()
    # --skip-bad imports the good rows and still lists the bad ones.
    out = bbc("import", str(path), "--skip-bad", now=NOW)
    assert numbers(out) == ["BB20210401-001", "BB20210406-001"]
    assert f"跳过有误的 {len(BAD_ROWS)} 行" in out.stderr
    assert "第 3 行：" in out.stderr


def test_json_report(bbc, tmp_path):
    path = write_csv(tmp_path / "a.csv", [ZH, HUO, ["霍某", "1234", "事项", "2021-04-01"]])
    report = json.loads(bbc("import", str(path), "--json", now=NOW, code=1).stdout)
    assert report["imported"] == [] and report["would_import"] == 1 and report["rows"] == 2
    assert report["bad"] == [
        {"row": 3, "reason": "电话格式不正确：应为11位手机号或带区号的固定电话"}
    ]
    report = json.loads(bbc("import", str(path), "--json", "--skip-bad", now=NOW).stdout)
    assert report["imported"] == [{"row": 2, "number": "BB20210401-001"}]


def test_row_numbers_match_what_excel_shows(bbc, tmp_path):
    text = (
        "姓名,电话,反映事项,受理时间\n"
        '霍某某,13712341111,"第一行\n第二行",2021-04-01\n'
        "\n"
        "霍某,1234,事项,2021-04-01\n"
    )
    path = tmp_path / "a.csv"
    path.write_text(text, encoding="utf-8")
    assert "第 4 行：电话格式不正确" in bbc("import", str(path), now=NOW, code=1).stderr
    xlsx = write_xlsx(
        tmp_path / "a.xlsx", [["说明：2021年台账"], [], ZH[:4], HUO[:4], ["霍某", "1"]]
    )
    result = bbc("import", str(xlsx), now=NOW, code=1)
    assert "第 5 行：" in result.stderr


def test_duplicates_in_the_file_and_in_the_store(bbc, tmp_path):
    path = write_csv(tmp_path / "a.csv", [ZH, HUO, LI, HUO])
    assert "第 4 行：与第 2 行重复" in bbc("import", str(path), now=NOW, code=1).stderr
    path = write_csv(tmp_path / "a.csv", [ZH, HUO, LI])
    bbc("import", str(path), now=NOW)
    again = bbc("import", str(path), now=NOW, code=1).stderr
    assert "第 2 行：与已有案件 BB20210401-001 重复" in again
    assert "第 3 行：与已有案件 BB20210406-001 重复" in again


def test_a_row_the_lifecycle_refuses_is_rolled_back_alone(bbc, tmp_path, monkeypatch, isolated):
    from banbucheng.core.errors import WrongState
    from banbucheng.domain import lifecycle

    real_close = lifecycle.close

    def close(ctx, case, **kw):
        if case.matter.startswith("诊所"):
            raise WrongState("模拟：不能办结")
        return real_close(ctx, case, **kw)

    monkeypatch.setattr(lifecycle, "close", close)
    third = [
        "王五",
        "13800000000",
        "第三件",
        "2021-04-01 11:00",
        "完全不能",
        "",
        "",
        "2021-04-02",
        "已答复",
    ]
    path = write_csv(tmp_path / "a.csv", [ZH, HUO, LI, third])
    out = bbc("import", str(path), "--skip-bad", now=NOW)
    assert "第 2 行：模拟：不能办结" in out.stderr
    # Ms Huo's half-made case is gone with its number, units and events.
    assert numbers(out) == ["BB20210406-001", "BB20210401-001"]
    assert bbc.json("show", "BB20210401-001")["matter"] == "第三件"
    assert [u["name"] for u in bbc.json("units", "list")] == ["省农保中心"]
    assert bbc.json("verify")["ok"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "文件是空的"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "不支持旧版 Excel"),
        (b"PK\x03\x04garbage", "无法读取 XLSX"),
        (
            "姓名,电话\n霍某,137\n".encode(),
            "缺少必需的列：反映事项（matter）、受理时间（received_at）",
        ),
        ("姓名,电话,反映事项,受理时间,name\n".encode(), "出现了两次"),
        ("姓名,电话,反映事项,受理时间\n".encode(), "没有数据行"),
        ("姓名,电话\n".encode() + b"\x80\x81" * 10, "无法识别文件编码"),
        ('姓名,电话,反映事项,受理时间\n"霍某,137'.encode(), "不是有效的 CSV"),
    ],
)
def test_malformed_files_are_refused_clearly(bbc, tmp_path, snapshot, content, message):
    bbc("list")  # the store exists, so that the snapshot holds its tables
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    check = snapshot()
    assert message in bbc.refused("import", str(path), now=NOW)
    check()


def test_missing_file_and_xlsx_extension_on_text(bbc, tmp_path):
    assert "找不到文件" in bbc.refused("import", str(tmp_path / "none.csv"))
    fake = tmp_path / "a.xlsx"
    fake.write_text("姓名,电话\n", encoding="utf-8")
    assert "不是有效的 XLSX" in bbc.refused("import", str(fake))


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("姓名", "name"),
        ("NAME", "name"),
        ("电话*", "phone"),
        ("受理时间(必填)", "received_at"),
        ("\ufeff姓名", "name"),
        ("ｍａｔｔｅｒ", "matter"),
        ("序号", None),
        (None, None),
        (3, None),
    ],
)
def test_header_keys(header, key):
    assert importer.header_key(header) == key
