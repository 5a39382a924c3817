"""Answers of the bulk decision endpoints (held posts, subscription requests): one result per id, and counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from poplist.core.errors import PoplistError


def bulk_answer(decided: Iterable[tuple[int, Any]], result_of: Callable[[Any], str]) -> dict[str, Any]:
    """`decided`: (id, outcome or the PoplistError that refused it); `result_of` names a successful outcome."""
    results = [
        {"id": item_id, "result": "error", "detail": str(outcome)}
        if isinstance(outcome, PoplistError)
        else {"id": item_id, "result": result_of(outcome), "detail": ""}
        for item_id, outcome in decided
    ]
    return {"results": results, "counts": dict(Counter(row["result"] for row in results))}
