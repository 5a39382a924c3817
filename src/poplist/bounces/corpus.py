"""Measuring the parser on a corpus of real bounces (a folder of messages and an expected.json).

expected.json maps each file to {"addresses": {address: class}, "category": optional}; a class
`permanent` accepts hard, soft or policy (corpora that only know failed from delayed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from poplist.bounces.parse import parse


@dataclass
class Figures:
    messages: int = 0
    expected_addresses: int = 0
    attributed: int = 0  # expected addresses found
    wrong: int = 0  # addresses attributed that the corpus does not name
    classified: int = 0  # found addresses with the right class
    categories_right: int = 0
    categories_expected: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def attributed_share(self) -> float:
        return self.attributed / self.expected_addresses if self.expected_addresses else 1.0

    @property
    def classified_share(self) -> float:
        return self.classified / self.attributed if self.attributed else 1.0

    def as_dict(self) -> dict:
        return {
            "messages": self.messages,
            "expected_addresses": self.expected_addresses,
            "attributed": self.attributed,
            "attributed_share": round(self.attributed_share, 4),
            "wrong_attributions": self.wrong,
            "classified_right": self.classified,
            "classified_share": round(self.classified_share, 4),
            "categories_right": f"{self.categories_right}/{self.categories_expected}",
        }


def _class_matches(expected: str | None, got: str) -> bool:
    if expected == "permanent":
        return got in ("hard", "soft", "policy")
    return expected == got


def evaluate(folder: Path) -> Figures:
    expected = json.loads((folder / "expected.json").read_text())
    figures = Figures()
    for name, want in sorted(expected.items()):
        parsed = parse((folder / name).read_bytes())
        figures.messages += 1
        want_addresses = {a.lower(): k for a, k in want["addresses"].items()}
        got = {f.email.lower(): f.kind for f in parsed.failures}
        figures.expected_addresses += len(want_addresses)
        for address, kind in want_addresses.items():
            if address not in got:
                figures.problems.append(f"{name}: missed {address}")
                continue
            figures.attributed += 1
            if _class_matches(kind, got[address]):
                figures.classified += 1
            else:
                figures.problems.append(f"{name}: {address} is {got[address]}, expected {kind}")
        for address in got.keys() - want_addresses.keys():
            figures.wrong += 1
            figures.problems.append(f"{name}: wrongly attributed {address}")
        if "category" in want:
            figures.categories_expected += 1
            if want["category"] == parsed.category:
                figures.categories_right += 1
            else:
                figures.problems.append(f"{name}: category {parsed.category}, expected {want['category']}")
    return figures
