"""How a notice's text is read: normalised lines, a skeleton of each clause with its
dates taken out, and the statements the notices make (a range off, a single day off,
补休, a make-up working day, an extension). notice.py holds what it produces."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

from banbucheng.core.errors import InvalidInput
from banbucheng.core.notice import (
    Extension,
    Holiday,
    MakeupDay,
    Notice,
    fmt,
)

# ---------------------------------------------------------------------------------------
# Lexical pieces. Lines are NFKC-normalised (full-width digits and punctuation become
# half-width) and stripped of all white space before matching.

_D = "\ue000"  # stands for one date in a clause's skeleton
_N = r"(\d+|[一二三四五六七八九十]+)"
_DL = rf"{_D}(?:、{_D})*"
_RS = r"(?:至|到|[—–\-~]+)"
_REST = r"(?:调休)?放假(?:调休|公休)?"

_DATE = re.compile(r"(?:(\d{4})年)?(?:(\d{1,2})月)?(\d{1,2})日(?:\(([^()]*)\))?")
_WEEKDAY_NOTE = re.compile(r"(?:星期|礼拜|周)([一二三四五六日天])")
_NUMBERED = re.compile(r"^([一二三四五六七八九十]{1,3})、(.*)$")
_HEADING_COLON = re.compile(r"^([^:\d]{1,20}?):(.*)$")
_HEADING_BARE = re.compile(r"^([\u4e00-\u9fff“”\"、]{1,20}?)(\d.*)$")
_HOLIDAY_WORDS = ("节", "元旦", "纪念日", "五一", "十一")
_NUMBER = re.compile(r"^[\u4e00-\u9fff]{1,12}[〔\[【(]\d{4}[〕\]】)]\d{1,4}号$")
_TITLE_YEAR = re.compile(r"(\d{4})年")
_TITLE_NAME = re.compile(
    r"关于(?:调整|延长)?(?:\d{4}年)?(.+?)(?:调休放假|放假调休|假期安排|放假安排|假期|放假)的通知$"
)
_BROKEN = re.compile(r"\d+[月日]|放假|上班")

_CLAUSES: list[tuple[str, re.Pattern[str]]] = [
    ("range", re.compile(rf"^(?:全国)?{_D}{_RS}{_D}{_REST}(?:{_N}天)?$")),
    ("single", re.compile(rf"^(?:全国)?{_D}(?:全国)?{_REST}(?:{_N}天)?$")),
    ("count", re.compile(rf"^共{_N}天$")),
    ("join", re.compile(r"^与周末连休$")),
    ("noswap", re.compile(r"^不调休$")),
    ("buxiu", re.compile(rf"^{_D}补休$")),
    ("work", re.compile(rf"^{_DL}上班$")),
    ("resume", re.compile(rf"^{_D}起正常上班$")),
    ("extend", re.compile(rf"^延长(?:\d{{4}}年)?([^{_D}]+?)假期至{_D}$")),
    ("legal", re.compile(rf"^{_DL}为[^{_D}]{{0,6}}?法定节?假日$")),
    ("weekend", re.compile(rf"^{_DL}(?:为公休日|照常公休)$")),
    (
        "swap",
        re.compile(
            rf"^将?({_DL})(?:[两二三四]个)?公休日(?:及[^{_D}]{{1,6}})?(?:分别)?调至({_DL})$"
        ),
    ),
]
_INSIDE = re.compile(rf"^{_D}(?:放假|调休)$")  # 「其中9月4日调休」: a day of the period
_STATEMENTS = {"range", "single", "buxiu", "work", "resume", "extend", "legal", "weekend"}
_STATEMENTS |= {"swap", "inside"}

_CN_NUM = {c: i for i, c in enumerate("一二三四五六七八九十", start=1)}
_WEEKDAY_NAMES = "一二三四五六日"


def _cn_int(s: str) -> int:
    if s.isdigit():
        return int(s)
    if s == "十":
        return 10
    if s.startswith("十"):
        return 10 + _CN_NUM[s[1]]
    if s.endswith("十"):
        return _CN_NUM[s[0]] * 10
    if "十" in s:
        return _CN_NUM[s[0]] * 10 + _CN_NUM[s[-1]]
    return _CN_NUM[s]


def _norm(line: str) -> str:
    return re.sub(r"[\s\ufeff\u200b]+", "", unicodedata.normalize("NFKC", line))


def _weekday(d: date) -> str:
    return "星期" + _WEEKDAY_NAMES[d.weekday()]


def _is_holiday_name(name: str) -> bool:
    return 0 < len(name) <= 20 and "," not in name and any(w in name for w in _HOLIDAY_WORDS)


def _days(a: date, b: date) -> int:
    return (b - a).days + 1


@dataclass
class _Tok:
    year: int | None
    month: int | None
    day: int
    note: str
    text: str
    date: date | None = None


@dataclass
class _Clause:
    kind: str | None
    match: re.Match[str] | None
    text: str
    toks: list[_Tok]


@dataclass
class _Item:
    name: str
    line: int
    anchor: date | None = None
    spans: list[list[date]] = field(default_factory=list)
    span_lines: list[int] = field(default_factory=list)
    declared: tuple[date, date] | None = None
    detail: bool = False
    workdays: list[MakeupDay] = field(default_factory=list)
    extensions: list[Extension] = field(default_factory=list)


class NoticeParser:
    def __init__(self, text: str, year: int | None) -> None:
        self.raw_lines = text.splitlines()
        self.lines = [_norm(line) for line in self.raw_lines]
        self.given_year = year
        self.year = 0
        self.title = ""
        self.number = ""
        self.default_name: str | None = None
        self.items: list[_Item] = []

    # -- errors ------------------------------------------------------------------------

    def fail(self, lineno: int, reason: str) -> InvalidInput:
        quote = self.raw_lines[lineno - 1].strip().replace("\u3000", "")
        if len(quote) > 40:
            quote = quote[:40] + "…"
        return InvalidInput(f"第{lineno}行{reason}：「{quote}」")

    # -- top level ---------------------------------------------------------------------

    def parse(self) -> Notice:
        if not any(self.lines):
            raise InvalidInput("通知内容为空")
        skip = self.find_header()
        self.find_year()
        for i, line in enumerate(self.lines, start=1):
            if line and i not in skip:
                self.parse_line(i, line)
        return self.finish()

    def find_header(self) -> set[int]:
        """Title (possibly broken over up to three lines) and document number."""
        used: set[int] = set()
        n = len(self.lines)
        for i, line in enumerate(self.lines):
            if _NUMBERED.match(line):
                break
            if line.startswith("国务院") and "关于" in line:
                joined, taken = line, [i]
                j = i + 1
                while not joined.endswith("通知") and j < n and len(taken) < 3:
                    if self.lines[j]:
                        joined += self.lines[j]
                        taken.append(j)
                    j += 1
                if joined.endswith("通知"):
                    self.title = joined
                    used.update(k + 1 for k in taken)
                break
        for i, line in enumerate(self.lines, start=1):
            if _NUMBER.match(line):
                self.number = line
                used.add(i)
                break
        return used

    def find_year(self) -> None:
        found = _TITLE_YEAR.search(self.title)
        title_year = int(found.group(1)) if found else None
        if title_year and self.given_year and title_year != self.given_year:
            raise InvalidInput(
                f"标题中的年份（{title_year}年）与指定的年份（{self.given_year}年）不符"
            )
        year = title_year or self.given_year
        if not year:
            raise InvalidInput("无法确定年份：标题中没有「YYYY年」，请指定通知的年份")
        if not 1949 <= year <= 2200:
            raise InvalidInput(f"年份 {year} 不合理")
        self.year = year
        named = _TITLE_NAME.search(self.title)
        if named and "部分" not in named.group(1):
            self.default_name = named.group(1)

    # -- one line ----------------------------------------------------------------------

    def parse_line(self, lineno: int, line: str) -> None:
        numbered = _NUMBERED.match(line)
        heading: str | None = None
        body = line
        if numbered:
            body = numbered.group(2)
            for pattern in (_HEADING_COLON, _HEADING_BARE):
                m = pattern.match(body)
                if m and _is_holiday_name(m.group(1)):
                    heading, body = m.group(1), m.group(2)
                    break
        toks, skeleton = self.tokenize(body)
        item = self.items[-1] if self.items and not numbered else None
        clauses, detail = self.classify(skeleton, toks, item.detail if item else False)
        has_statement = any(c.kind in _STATEMENTS for c in clauses)
        if heading is None and not has_statement:
            return  # prose: preamble, closing paragraph, issuer, numbered prose items
        for c in clauses:  # a numbered item must be read whole; a paragraph may hold prose
            if c.kind is None and (numbered or c.toks or _BROKEN.search(c.text)):
                raise self.fail(lineno, "无法识别")
        if numbered or item is None:
            name = heading or self.default_name
            if name is None:
                raise self.fail(lineno, "看不出是哪个节日（缺少「元旦：」这样的标题）")
            item = _Item(name=name, line=lineno)
            self.items.append(item)
        item.detail = item.detail or detail
        self.resolve(lineno, item, clauses, toks)
        for c in clauses:
            self.apply(lineno, item, c)

    def tokenize(self, body: str) -> tuple[list[_Tok], str]:
        toks: list[_Tok] = []

        def repl(m: re.Match[str]) -> str:
            y, mo, d, note = m.groups()
            toks.append(
                _Tok(
                    year=int(y) if y else None,
                    month=int(mo) if mo else None,
                    day=int(d),
                    note=note or "",
                    text=m.group(0),
                )
            )
            return _D

        skeleton = _DATE.sub(repl, body)
        skeleton = re.sub(rf"\([^(){_D}]*\)", "", skeleton)  # notes not attached to a date
        return toks, skeleton

    def classify(self, skeleton: str, toks: list[_Tok], detail: bool) -> tuple[list[_Clause], bool]:
        out: list[_Clause] = []
        pos = 0
        for sentence in re.split(r"[。.;]", skeleton):
            n_sentence = sentence.count(_D)
            if sentence.startswith("鼓励"):  # advice, not an arrangement
                pos += n_sentence
                continue
            for text in re.split(r"[,:]", sentence):
                n = text.count(_D)
                ctoks, pos = toks[pos : pos + n], pos + n
                if text.startswith("其中"):
                    detail, text = True, text[2:]
                if not text:
                    continue
                kind, match = None, None
                if detail and (m := _INSIDE.match(text)):
                    kind, match = "inside", m
                else:
                    for k, pattern in _CLAUSES:
                        if m := pattern.match(text):
                            kind, match = k, m
                            break
                out.append(_Clause(kind, match, text, ctoks))
        return out, detail

    # -- dates -------------------------------------------------------------------------

    def make_date(self, lineno: int, y: int, tok: _Tok) -> date:
        assert tok.month is not None
        try:
            return date(y, tok.month, tok.day)
        except ValueError:
            raise self.fail(lineno, f"日期无效（{y}年{tok.month}月{tok.day}日）") from None

    def explicit(self, lineno: int, tok: _Tok) -> date | None:
        if tok.year is None:
            return None
        if abs(tok.year - self.year) > 1:
            raise self.fail(lineno, f"年份不符（{tok.year}年不在{self.year}年的通知范围内）")
        return self.make_date(lineno, tok.year, tok)

    def nearest(self, lineno: int, tok: _Tok, anchor: date | None) -> date:
        if (d := self.explicit(lineno, tok)) is not None:
            return d
        if anchor is None:
            return self.make_date(lineno, self.year, tok)
        best: date | None = None
        for y in (self.year - 1, self.year, self.year + 1):
            try:
                c = date(y, tok.month or 0, tok.day)
            except ValueError:
                continue
            if best is None or abs((c - anchor).days) < abs((best - anchor).days):
                best = c
        if best is None:
            raise self.fail(lineno, f"日期无效（{tok.month}月{tok.day}日）")
        return best

    def range_end(self, lineno: int, start: date, tok: _Tok) -> date:
        if (d := self.explicit(lineno, tok)) is not None:
            return d
        end = self.make_date(lineno, start.year, tok)
        if end < start and (tok.month or 0) < start.month:  # 12月31日至1月2日
            end = self.make_date(lineno, start.year + 1, tok)
        return end

    def first_range(self, lineno: int, a: _Tok, b: _Tok) -> tuple[date, date]:
        """The item's first period, placed by the notice's year alone."""
        start = self.explicit(lineno, a)
        if start is None:
            end = self.explicit(lineno, b)
            if end is not None:
                start = self.make_date(lineno, end.year, a)
                if start > end:
                    start = self.make_date(lineno, end.year - 1, a)
            elif (a.month or 0) > (b.month or 0):
                start = self.make_date(lineno, self.year - 1, a)  # 12月30日至1月1日
            else:
                start = self.make_date(lineno, self.year, a)
        return start, self.range_end(lineno, start, b)

    def resolve(self, lineno: int, item: _Item, clauses: list[_Clause], toks: list[_Tok]) -> None:
        used = [t for c in clauses for t in c.toks]
        month: int | None = None
        for t in toks:  # 「2月20日、21日」: a day without a month takes the one before it
            if t.month is None:
                if month is None:
                    raise self.fail(lineno, f"缺少月份（{t.text}）")
                t.month = month
            month = t.month
        for c in clauses:
            if c.kind == "range":
                a, b = c.toks
                if item.anchor is None:
                    a.date, b.date = self.first_range(lineno, a, b)
                    item.anchor = a.date
                else:
                    a.date = self.nearest(lineno, a, item.anchor)
                    b.date = self.range_end(lineno, a.date, b)
            elif c.kind in ("single", "extend") and item.anchor is None:
                t = c.toks[0]
                t.date = self.nearest(lineno, t, None)
                later = toks[next(i for i, u in enumerate(toks) if u is t) + 1 :]
                if t.year is None and t.month == 12 and any(u.month == 1 for u in later):
                    t.date = self.make_date(lineno, self.year - 1, t)  # 12月31日放假，1月1日补休
                item.anchor = t.date
        for t in used:
            if t.date is None:
                t.date = self.nearest(lineno, t, item.anchor)
            for wd in _WEEKDAY_NOTE.findall(t.note):
                stated = _WEEKDAY_NAMES.index("日" if wd == "天" else wd)
                if t.date.weekday() != stated:
                    raise self.fail(
                        lineno,
                        f"星期不符（{fmt(t.date)}是{_weekday(t.date)}，"
                        f"不是星期{_WEEKDAY_NAMES[stated]}）",
                    )

    # -- meaning -----------------------------------------------------------------------

    def add_span(self, item: _Item, a: date, b: date, lineno: int) -> None:
        for span in item.spans:
            if a <= span[1] and span[0] <= b:  # the same period stated twice (2015, 9月3日)
                span[0], span[1] = min(span[0], a), max(span[1], b)
                return
        item.spans.append([a, b])
        item.span_lines.append(lineno)

    def inside(self, item: _Item, d: date) -> bool:
        return any(a <= d <= b for a, b in item.spans)

    def add_workday(self, lineno: int, item: _Item, d: date) -> None:
        if d.weekday() < 5:
            raise self.fail(lineno, f"调休上班日不是周末（{fmt(d)}是{_weekday(d)}）")
        if all(w.day != d for w in item.workdays):
            item.workdays.append(MakeupDay(item.name, d, lineno))

    def check_count(self, lineno: int, item: _Item, n: int) -> None:
        if item.declared is None:
            raise self.fail(lineno, "无法识别（「共N天」前没有放假日期）")
        a, b = item.declared
        if _days(a, b) != n:
            span = fmt(a) if a == b else f"{fmt(a)}至{fmt(b)}"
            raise self.fail(lineno, f"天数不符（写的是共{n}天，{span}是{_days(a, b)}天）")

    def apply(self, lineno: int, item: _Item, c: _Clause) -> None:
        kind, m = c.kind, c.match
        dates = [t.date for t in c.toks if t.date is not None]
        if kind is None or m is None:
            return
        if kind == "range":
            a, b = dates
            if b < a:
                raise self.fail(lineno, f"日期区间颠倒（{fmt(a)}至{fmt(b)}）")
            if _days(a, b) > 31:
                raise self.fail(lineno, f"放假区间过长（{fmt(a)}至{fmt(b)}）")
            item.declared = (a, b)
            self.add_span(item, a, b, lineno)
            if m.group(1):
                self.check_count(lineno, item, _cn_int(m.group(1)))
        elif kind == "single":
            item.declared = (dates[0], dates[0])
            self.add_span(item, dates[0], dates[0], lineno)
            if m.group(1):
                self.check_count(lineno, item, _cn_int(m.group(1)))
        elif kind == "count":
            self.check_count(lineno, item, _cn_int(m.group(1)))
        elif kind == "join":
            if item.declared is None or item.declared[0] != item.declared[1]:
                raise self.fail(lineno, "无法识别（「与周末连休」应跟在单独一天之后）")
            d = item.declared[0]
            if d.weekday() not in (0, 4):
                raise self.fail(lineno, f"不与周末相连（{fmt(d)}是{_weekday(d)}）")
        elif kind == "buxiu":
            d = dates[0]
            if item.declared is None:
                raise self.fail(lineno, "无法识别（「补休」前没有放假日期）")
            a, b = item.declared
            gap = [b + timedelta(days=i) for i in range(1, (d - b).days)]
            if d <= b or len(gap) > 2 or any(g.weekday() < 5 for g in gap):
                raise self.fail(lineno, f"补休日不对（{fmt(d)}没有紧接{fmt(b)}后的周末）")
            for span in item.spans:
                if span[0] <= b <= span[1]:
                    span[1] = max(span[1], d)
            item.declared = (a, d)
        elif kind == "work":
            for d in dates:
                self.add_workday(lineno, item, d)
        elif kind == "resume":
            ends = [e.last for e in item.extensions] or [b for _, b in item.spans]
            if not ends or dates[0] != max(ends) + timedelta(days=1):
                raise self.fail(lineno, f"恢复上班的日期不对（{fmt(dates[0])}不是假期后的第一天）")
        elif kind == "extend":
            item.extensions.append(Extension(m.group(1), dates[0], lineno))
        elif kind in ("legal", "weekend", "inside"):
            for d in dates:
                if not self.inside(item, d):
                    raise self.fail(lineno, f"不在放假期间内（{fmt(d)}）")
        elif kind == "swap":
            n_src = m.group(1).count(_D)
            for d in dates[:n_src]:
                if d.weekday() < 5:
                    raise self.fail(lineno, f"调出的不是公休日（{fmt(d)}是{_weekday(d)}）")
                if not self.inside(item, d):
                    self.add_workday(lineno, item, d)
            for d in dates[n_src:]:
                if not self.inside(item, d):
                    raise self.fail(lineno, f"不在放假期间内（{fmt(d)}）")

    # -- the whole notice --------------------------------------------------------------

    def finish(self) -> Notice:
        holidays: list[Holiday] = []
        workdays: list[MakeupDay] = []
        extensions: list[Extension] = []
        for item in self.items:
            if not item.spans and not item.extensions:
                raise self.fail(item.line, "没有放假日期")
            for (a, b), line in zip(item.spans, item.span_lines, strict=True):
                holidays.append(Holiday(item.name, a, b, line))
            workdays.extend(item.workdays)
            extensions.extend(item.extensions)
        if not holidays and not extensions:
            raise InvalidInput("没有找到放假安排（例如「一、元旦：1月1日放假」这样的条目）")
        off: dict[date, int] = {}
        for h in holidays:
            for d in h.dates():
                off.setdefault(d, h.line)
        for e in extensions:
            off.setdefault(e.last, e.line)
        seen: set[date] = set()
        unique: list[MakeupDay] = []
        for w in workdays:
            if w.day in off:
                raise self.fail(w.line, f"既放假又上班（{fmt(w.day)}）")
            if w.day not in seen:
                seen.add(w.day)
                unique.append(w)
        return Notice(
            year=self.year,
            title=self.title,
            number=self.number,
            holidays=sorted(holidays, key=lambda h: h.first),
            workdays=sorted(unique, key=lambda w: w.day),
            extensions=extensions,
        )


def parse_notice(text: str, year: int | None = None) -> Notice:
    """Read a notice's plain text, as copied from the government website.

    ``year`` is needed when the title names none (the 2015 Victory Day notice); when both
    are there they must agree. Raises ``InvalidInput`` with a one-line Chinese message that
    names the line it could not accept and quotes at most 40 characters of it.
    """
    return NoticeParser(text, year).parse()
