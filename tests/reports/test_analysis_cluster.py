"""clustering.cluster groups matters exactly as the all-pairs version it replaced (issue 14)."""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence

import casegen
from hypothesis import given, settings
from hypothesis import strategies as st

from banbucheng.core import bigrams
from banbucheng.reports import clustering


def reference(
    docs: Mapping[int, Sequence[str]], weight: Mapping[str, float], threshold: float
) -> list[list[int]]:
    """The version before issue 14, kept here only to compare with: resemblance called
    for every pair sharing an uncommon term, then the same average-linkage merges."""
    ids = sorted(docs)
    sets = {i: set(docs[i]) for i in ids}
    postings: dict[str, list[int]] = defaultdict(list)
    for i in ids:
        for t in sets[i]:
            postings[t].append(i)
    common = max(10, len(ids) // 5)
    links: dict[int, dict[int, float]] = {i: {} for i in ids}
    for members in postings.values():
        if len(members) > common:
            continue
        for pos, a in enumerate(members):
            for b in members[pos + 1 :]:
                if b not in links[a]:
                    value = bigrams.resemblance(sets[a], sets[b], weight)
                    links[a][b] = links[b][a] = value
    size = {i: 1 for i in ids}
    groups = {i: [i] for i in ids}
    heap = [(-v, a, b) for a in ids for b, v in links[a].items() if a < b and v >= threshold]
    heapq.heapify(heap)
    while heap:
        negative, a, b = heapq.heappop(heap)
        if a not in groups or b not in groups:
            continue
        mean = links[a].get(b, 0.0) / (size[a] * size[b])
        if abs(mean + negative) > 1e-12:
            continue
        groups[a] += groups.pop(b)
        size[a] += size.pop(b)
        for c, value in links.pop(b).items():
            links[c].pop(b, None)
            if c == a:
                continue
            total = links[a].get(c, 0.0) + value
            links[a][c] = links[c][a] = total
        links[a].pop(b, None)
        for c, total in links[a].items():
            mean = total / (size[a] * size[c])
            if mean >= threshold:
                heapq.heappush(heap, (-mean, min(a, c), max(a, c)))
    return sorted((sorted(g) for g in groups.values()), key=lambda g: (-len(g), g[0]))


VOCABULARY = [f"词{i}" for i in range(40)]


@settings(max_examples=200, deadline=None)
@given(
    docs=st.dictionaries(
        st.integers(0, 500),
        st.lists(st.sampled_from(VOCABULARY), max_size=12),
        max_size=60,
    ),
    weights=st.lists(st.floats(0.05, 8.0), min_size=len(VOCABULARY), max_size=len(VOCABULARY)),
    threshold=st.sampled_from([clustering.TYPE_MIN, 0.05, 0.3, 0.6]),
)
def test_same_types_as_all_pairs_on_random_sets(
    docs: dict[int, list[str]], weights: list[float], threshold: float
) -> None:
    weight = dict(zip(VOCABULARY, weights, strict=True))
    assert clustering.cluster(docs, weight, threshold) == reference(docs, weight, threshold)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(2, 400), seed=st.integers(0, 10_000))
def test_same_types_as_all_pairs_on_matters(n: int, seed: int) -> None:
    docs = {i * 7: bigrams.terms(m[0]) for i, m in enumerate(casegen.bulk_matters(n, seed))}
    df = Counter(t for d in docs.values() for t in set(d))
    weight = {t: bigrams.weight(t, k, n) for t, k in df.items()}
    assert clustering.cluster(docs, weight) == reference(docs, weight, clustering.TYPE_MIN)
