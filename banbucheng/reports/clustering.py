"""Matters grouped into types (类案) for the 短板 analysis (reports/analysis.py): average
linkage over the weighted resemblance of their terms (core/bigrams.py)."""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Mapping, Sequence

TYPE_MIN = 0.15  # mean resemblance at which matters are one type (类案): see cluster()


def cluster(
    docs: Mapping[int, Sequence[str]], weight: Mapping[str, float], threshold: float = TYPE_MIN
) -> list[list[int]]:
    """Group documents into types by average linkage: two groups merge while the mean
    resemblance of their members is at least `threshold` (measured on the fixture:
    single linkage chains 驾驶证到期换证 to 药品经营许可证到期换证 to 食品经营许可证;
    average linkage keeps them apart and still groups most rewordings).

    Only pairs sharing a term that most documents lack are compared (`_links`), and
    merges come from a heap, so the work grows with the pairs that can match, not with
    n³. Those pairs still grow as n² when a period repeats a few words (place names,
    set phrases) in every matter: each pair's mean counts, so none can be skipped
    without changing the types."""
    ids = sorted(docs)
    sets = {i: set(docs[i]) for i in ids}
    links = _links(ids, sets, weight)
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
            continue  # stale: a or b has merged since
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


def _links(
    ids: Sequence[int], sets: Mapping[int, set[str]], weight: Mapping[str, float]
) -> dict[int, dict[int, float]]:
    """bigrams.resemblance of every pair of documents sharing a term held by at most a
    fifth of them (a term most documents hold links nothing).

    The value is computed as resemblance computes it, to the last bit (the same set
    copies summed in the same order), but each document's total weight once instead of
    once per pair: two sums of three per pair saved, the set copies too."""
    copies = {i: set(sets[i]) for i in ids}  # what resemblance iterates
    totals = {i: sum(weight[t] for t in copies[i]) for i in ids}
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
            near, sa, wa = links[a], copies[a], totals[a]
            for b in members[pos + 1 :]:
                if b in near:
                    continue
                total = wa + totals[b]
                value = 2 * sum(weight[t] for t in sa & copies[b]) / total if total else 0.0
                near[b] = links[b][a] = value
    return links
