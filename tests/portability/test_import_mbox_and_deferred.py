"""The mbox reader's traps on their own, and kept settings applied once their domain can take them."""

from __future__ import annotations

import gzip
import io

import pytest
from importing_fixtures import data_fixture, run_import_fixture  # noqa: F401 - fixtures

from poplist.portability import deferred
from poplist.portability.mbox import read_mbox
from poplist.portability.models import ImportedSetting
from poplist.portability.records import ImportReport, ListSource


def messages(data: bytes, stats=None):
    stats = {} if stats is None else stats
    return list(read_mbox(lambda: io.BytesIO(data), stats)), stats


def test_crlf_mbox_with_text_before_the_first_message():
    found, stats = messages(
        b"garbage\r\nFrom a@x Mon Jan  4 09:00:00 2010\r\nSubject: one\r\n\r\nbody\r\n\r\n"
        b"From b@x Mon Jan  4 10:00:00 2010\r\nSubject: two\r\n\r\nbody two\r\n"
    )
    assert [raw for raw, _date in found] == [b"Subject: one\r\n\r\nbody\r\n", b"Subject: two\r\n\r\nbody two\r\n"]
    assert stats == {"lines_before_first_message": 1, "messages_read": 2}


def test_separators_without_dates_fall_back_to_the_loose_rule():
    found, stats = messages(b"From -\nSubject: one\n\nbody\n\nFrom -\nSubject: two\n\nFrom the start.\n")
    assert [raw for raw, _date in found] == [
        b"Subject: one\r\n\r\nbody\r\n",
        b"Subject: two\r\n\r\nFrom the start.\r\n",
    ]
    assert stats["loose_separators"] == 2


def test_gzip_is_read_transparently(tmp_path):
    from poplist.portability.mbox import path_opener

    path = tmp_path / "list.mbox.gz"
    path.write_bytes(gzip.compress(b"From a@x Mon Jan  4 09:00:00 2010\nSubject: one\n\nbody\n"))
    assert [raw for raw, _date in read_mbox(path_opener(path), {})] == [b"Subject: one\r\n\r\nbody\r\n"]


def test_an_unknown_kept_setting_key_is_refused():
    with pytest.raises(ValueError, match="unknown imported setting"):
        deferred.applier("no_such_setting")


def test_kept_settings_are_applied_once_an_applier_exists(run_import, monkeypatch):
    applied = []
    monkeypatch.setattr(deferred, "APPLIERS", {})
    source = ListSource(system="mailman2", source="test", name="kept", report=ImportReport("mailman2", "test"))
    source.defer("banned_addresses", "ban_list", ["spam@example.com"])
    source.defer("header_filters", "header_filter_rules", [])  # empty: not kept
    run_import(source, address="kept@lists.acme.test")
    setting = ImportedSetting.objects.get()
    assert (setting.key, setting.applied_at) == ("banned_addresses", None)

    @deferred.applier("banned_addresses")
    def ban(mailing_list, patterns):
        applied.append((mailing_list.address, patterns))

    assert deferred.apply_pending(setting.mailing_list) == ["banned_addresses"]
    assert applied == [("kept@lists.acme.test", ["spam@example.com"])]
    setting.refresh_from_db()
    assert setting.applied_at is not None
    assert deferred.apply_pending(setting.mailing_list) == []  # once only
