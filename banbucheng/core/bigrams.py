"""Chinese text as search terms, and how alike two texts are. Pure functions, no store.

Why character bigrams: people type the same matter in different words (社保卡没年审 /
社会保障卡未年检), and two-character words (社保, 年检, 名称) carry most of the
meaning. Every two adjacent Han characters form one term, so any two-character word
in a query is a term of every text that contains it, new place and unit names
included, with no dictionary to load or keep up to date. SQLite's trigram tokenizer
cannot match a two-character query at all; a segmenter (jieba) cuts 营业执照 into one
word, so a query for 执照 misses it unless its search mode is used, and loading its
dictionary takes 0.8 to 1 s on each `bbc register`. Measured on the test fixture's 24
reworded queries (benchmarks/bench_similar.py --compare): bigrams put the right case
first 24 times, jieba's search mode 23.

Single characters are not indexed: on the same queries, adding them doubled the terms
per case (17.6 to 35.9) and ranked no query better (one character says little in
Chinese). A query of one Han character is answered by prefix matching instead.

A short list of equivalent words the staff and citizens use (年审/年检, 名字/名称 ...)
is folded into one form before the bigrams are made, on both sides.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Variants folded into one form, longest first. Kept short and safe: each pair is the
# same thing in the service center's vocabulary, whatever the context.
SYNONYMS: dict[str, str] = {
    "社会保障卡": "社保卡",
    "社会保险": "社保",
    "养老保险金": "养老金",
    "退休金": "养老金",
    "退休工资": "养老金",
    "医疗保险": "医保",
    "住房公积金": "公积金",
    "年审": "年检",
    "名字": "名称",
    "不一样": "不一致",
    "不统一": "不一致",
    "不相符": "不一致",
    "对不上": "不一致",
    "供应商": "供货商",
    "供货方": "供货商",
    "户口本": "户口簿",
    "驾照": "驾驶证",
    "身份证件": "身份证",
    "营业证照": "营业执照",
}

# Han ideographs (CJK unified, extension A, compatibility, extensions B and later).
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f〇"


@functools.cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """The synonyms (longest first); a run: its Han characters in the first group, or a
    Latin/digit word in the second; a text of Han characters only. Compiled on first
    use: the Han ranges take milliseconds to compile, spent only by a command that
    indexes or searches."""
    synonyms = re.compile("|".join(sorted(map(re.escape, SYNONYMS), key=len, reverse=True)))
    return synonyms, re.compile(rf"([{_HAN}]+)|([0-9a-z]+)"), re.compile(rf"[{_HAN}]+")


# A run of this many digits is a phone, ID or account number: never put into the index.
_LONG_NUMBER = re.compile(r"[0-9]{7,}")

MAX_QUERY_CHARS = 500


# The full-width punctuation of nearly every typed matter (，（）：；？！ and the
# ideographic space), each replaced by its compatibility decomposition (NFKD, one ASCII
# character) before NFKC: the result is the same (the decomposed text is), and NFKC,
# finding nothing left to change in most texts, returns at its quick check instead of
# decomposing and recomposing the whole text.
_WIDE = tuple((c, unicodedata.normalize("NFKD", c)) for c in "，（）：；？！\u3000")


def normalize(text: str, *, fold: bool = True) -> str:
    """Full-width to half-width, lower case, equivalent words folded."""
    for wide, narrow in _WIDE:
        text = text.replace(wide, narrow)
    value = unicodedata.normalize("NFKC", text).lower()
    return _patterns()[0].sub(lambda m: SYNONYMS[m.group(0)], value) if fold else value


def terms(text: str, *, fold: bool = True) -> list[str]:
    """The text's index terms in order (duplicates kept): Han bigrams, a lone Han
    character where a run has only one, and Latin/digit words (years, 12345);
    long numbers are left out, so personal numbers never reach the index."""
    out: list[str] = []
    for han, word in _patterns()[1].findall(normalize(text, fold=fold)):
        if han:
            if len(han) == 1:
                out.append(han)
            else:
                out += [han[i : i + 2] for i in range(len(han) - 1)]
        elif not _LONG_NUMBER.search(word):
            out.append(word)
    return out


def is_han(text: str) -> bool:
    return bool(_patterns()[2].fullmatch(text))


def join(words: Iterable[str]) -> str:
    """Terms as stored: distinct, space-separated, in first-seen order."""
    return " ".join(dict.fromkeys(words))


def split(stored: str | None) -> list[str]:
    return stored.split() if stored else []


# ---------------------------------------------------------------- weights and scores

# The store is treated as if it also held this many documents containing none of the
# terms, so that in a small store (the first weeks of a window) a shared term still
# outweighs an unshared one and the scores stay comparable as the store grows.
PRIOR_DOCS = 500


# Function characters (particles, pronouns, the commonest verbs and positions): a bigram
# holding one mostly spans a word boundary (上的, 了四), so it is rare in the store and
# would weigh as much as a real word; it counts for this much of its IDF instead.
FUNCTION_CHARS = frozenset(
    "的了着过吗呢吧啊呀也都就还又和与及或在是我你他她它们这那个被把给让对从而于很再才已说去来上里后"
)
FUNCTION_WEIGHT = 0.25
# The vocabulary of every complaint (办理, 一直, 不了, 材料, 来回): not what a matter is
# about, so it counts as little as a function bigram.
_GENERIC_WORDS = """
办理 办事 不了 一直 没有 提交 网上 窗口 要求 材料 多次 还是 问题 解决
反映 群众 已经 不给 不能 不到 来回 跑了 互相 推诿 部门 工作 人员 申请
时间 手续 相关 情况 需要 提供 迟迟 至今 仍未 未能 无法 没人 无人 答复
结果 受理 处理 同意 导致 拒绝 不予 为由 办不 不下 下来 不出
出来 不成 不行 不来
"""
GENERIC = frozenset(_GENERIC_WORDS.split())


def idf(df: int, n_docs: int) -> float:
    """Inverse document frequency, BM25's non-negative form."""
    n = n_docs + PRIOR_DOCS
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


def weight(term: str, df: int, n_docs: int) -> float:
    """A term's weight in scores: its IDF, less for a bigram with a function character."""
    value = idf(df, n_docs)
    if term in GENERIC or (
        len(term) == 2 and (term[0] in FUNCTION_CHARS or term[1] in FUNCTION_CHARS)
    ):
        value *= FUNCTION_WEIGHT
    return value


@dataclass(frozen=True)
class Doc:
    """A case as the index sees it: the terms of its matter (and department), and of
    what else is known about it (result, mechanism), which count for less."""

    main: frozenset[str]
    extra: frozenset[str]


EXTRA_WEIGHT = 0.5  # a query term found only in the result or mechanism


def score(query: Iterable[str], doc: Doc, weight: Mapping[str, float]) -> float:
    """How well `doc` answers `query`, 0..1.

    Mostly the share of the query's weight found in the document (a text that holds
    every distinctive word of the query is a match, however it goes on), times a
    little of the share of the document's own words found in the query (so among
    equal matches the one about just this comes first). Weights are IDF, so 年检
    counts for much more than 办理.
    """
    q = set(query)
    if not q:
        return 0.0
    q_total = sum(weight[t] for t in q)
    found = sum(weight[t] for t in q & doc.main)
    found += EXTRA_WEIGHT * sum(weight[t] for t in (q & doc.extra) - doc.main)
    d_total = sum(weight[t] for t in doc.main) or 1.0
    of_query = found / q_total
    of_doc = min(1.0, found / d_total)
    return of_query * (0.85 + 0.15 * of_doc)


def resemblance(a: Iterable[str], b: Iterable[str], weight: Mapping[str, float]) -> float:
    """Symmetric likeness of two matters, 0..1 (the weighted Dice coefficient): used
    to decide repeats and to group a period's cases into types."""
    sa, sb = set(a), set(b)
    total = sum(weight[t] for t in sa) + sum(weight[t] for t in sb)
    if not total:
        return 0.0
    return 2 * sum(weight[t] for t in sa & sb) / total
