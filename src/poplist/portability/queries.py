"""Reads about migrations: the reports kept for each list and the settings still waiting for a home."""

from __future__ import annotations

from poplist.lists.models import MailingList
from poplist.portability.models import ImportedSetting, MigrationRun


def migration_runs(mailing_list: MailingList) -> list[dict]:
    return [
        {
            "id": run.pk,
            "system": run.system,
            "source": run.source,
            "actor": run.actor,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "report": run.report,
        }
        for run in MigrationRun.objects.filter(mailing_list=mailing_list).order_by("started_at", "pk")
    ]


def imported_settings(mailing_list: MailingList) -> list[dict]:
    return [
        {"key": s.key, "system": s.system, "source_key": s.source_key, "value": s.value, "applied_at": s.applied_at}
        for s in ImportedSetting.objects.filter(mailing_list=mailing_list).order_by("key")
    ]
