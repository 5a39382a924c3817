"""Translation catalogs: the .po files are the source; the .mo files Django reads are built from them.

Built at start-up into the data dir when missing or older than their .po (a few ms), so
no generated file is committed and a fresh checkout needs no gettext tools.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import polib


def compile_catalogs(source: Path, target: Path) -> list[Path]:
    """Compile every source/<lang>/LC_MESSAGES/*.po into the same place under target; returns what was built."""
    built = []
    for po_path in sorted(source.glob("*/LC_MESSAGES/*.po")):
        mo_path = target / po_path.relative_to(source).with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        # Several processes may start together: write aside, then rename atomically.
        fd, temporary = tempfile.mkstemp(dir=mo_path.parent, suffix=".mo.tmp")
        os.close(fd)
        polib.pofile(str(po_path)).save_as_mofile(temporary)
        os.replace(temporary, mo_path)
        built.append(mo_path)
    return built
