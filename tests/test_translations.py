"""French and English everywhere: every message has a French translation with the same placeholders."""

import re
from pathlib import Path

import polib
import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "poplist"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")
NOTICES = Path(__file__).resolve().parent.parent / "src" / "poplist" / "templates" / "notices"


CATALOGS = sorted(PACKAGE.glob("**/locale/fr/LC_MESSAGES/django.po"))


def test_the_main_catalog_exists():
    assert PACKAGE / "locale" / "fr" / "LC_MESSAGES" / "django.po" in CATALOGS


@pytest.mark.parametrize("path", CATALOGS, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_french_catalog_is_complete_and_keeps_placeholders(path):
    catalog = polib.pofile(str(path))
    untranslated = [e.msgid for e in catalog if not e.obsolete and (not e.msgstr or "fuzzy" in e.flags)]
    assert untranslated == []
    broken = [e.msgid for e in catalog if sorted(PLACEHOLDER.findall(e.msgid)) != sorted(PLACEHOLDER.findall(e.msgstr))]
    assert broken == []


def test_every_notice_exists_in_both_languages():
    for notice in NOTICES.iterdir():
        for language in ("en", "fr"):
            for part in ("subject.txt", "body.txt"):
                assert (notice / language / part).is_file(), f"{notice.name}/{language}/{part}"
