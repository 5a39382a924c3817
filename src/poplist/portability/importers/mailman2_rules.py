"""Mailman 2.1's sender lists and header_filter_rules, turned into the shapes portability.deferred keeps."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from poplist.portability.records import ImportReport

# Defaults.py: DEFER 0, APPROVE 1, REJECT 2, DISCARD 3, SUBSCRIBE 4, UNSUBSCRIBE 5, ACCEPT 6, HOLD 7.
ACTIONS = {2: "reject", 3: "discard", 6: "accept", 7: "hold"}


def patterns(values: Any, text: Callable[[Any], str]) -> list[str]:
    """Addresses and ^regexes, as Mailman stores them in ban_list and the *_these_nonmembers lists."""
    if not isinstance(values, list | tuple):
        return []
    return [item for item in (text(value) for value in values) if item]


def header_filter_rules(rules: Any, text: Callable[[Any], str], report: ImportReport) -> list[dict]:
    """[('Header: regex' lines, action, empty), …] -> [{header, pattern, action}], as Mailman 3 reads them."""
    result: list[dict] = []
    if not isinstance(rules, list | tuple):
        return result
    for rule in rules:
        if not isinstance(rule, list | tuple) or len(rule) < 2:
            report.skip("header_filter_rules", rule, "not a (patterns, action) rule")
            continue
        lines, action = text(rule[0]), ACTIONS.get(rule[1])
        if action is None:
            report.skip("header_filter_rules", rule, "Mailman's defer/approve actions have no Poplist equivalent")
            continue
        for line in lines.splitlines():
            parsed = _header_and_pattern(line.strip())
            if parsed is None:
                if line.strip():
                    report.skip("header_filter_rules", line, "a rule must name a header: 'Header: regex'")
                continue
            header, pattern = parsed
            try:
                re.compile(pattern)
            except re.error:
                report.skip("header_filter_rules", line, "not a valid regular expression")
                continue
            result.append({"header": header, "pattern": pattern, "action": action})
    return result


def _header_and_pattern(line: str) -> tuple[str, str] | None:
    for separator in (": ", ":.*", ":.", ":"):
        header, sep, pattern = line.partition(separator)
        if sep:
            header = header.strip().lstrip("^").replace("\\", "").lower()
            if header and re.fullmatch(r"[\x21-\x39\x3b-\x7e]+", header):
                return header, pattern.strip() or ".*"
            return None
    return None
