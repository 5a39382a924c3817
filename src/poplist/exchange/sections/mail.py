"""Sections of the mail domains: held messages and list filters (inbound), DKIM keys (delivery, secrets
only), bounce history (bounces)."""

from __future__ import annotations

from typing import Any

from poplist.bounces.models import BounceEvent, BounceReport, BounceStep
from poplist.delivery.models import DkimKey
from poplist.exchange.format import Reader, Writer
from poplist.exchange.records import ModelSpec, export_rows, to_values
from poplist.exchange.registry import ImportContext
from poplist.exchange.sections.models import ModelSection
from poplist.inbound.models import HeaderFilter, HeldMessage, InboundMessage, SenderFilter

LIST = {"list": ("mailing_list__address", "mailing_list_id")}

filters = ModelSection(
    name="filters",
    order=26,
    specs=[
        ModelSpec(
            SenderFilter,
            "sender_filters.jsonl",
            lambda t: SenderFilter.objects.filter(mailing_list__tenant=t),
            refs=LIST,
        ),
        ModelSpec(
            HeaderFilter,
            "header_filters.jsonl",
            lambda t: HeaderFilter.objects.filter(mailing_list__tenant=t),
            refs=LIST,
        ),
    ],
)

bounces = ModelSection(
    name="bounces",
    order=50,
    specs=[
        # Ids of this instance's inbound messages and jobs, and the member row, mean nothing elsewhere:
        # the event keeps the address; scores are rebuilt from new bounces.
        ModelSpec(
            BounceEvent,
            "bounce_events.jsonl",
            lambda t: BounceEvent.objects.filter(mailing_list__tenant=t),
            refs=LIST,
            exclude={"inbound_message_id", "job_id"},
        ),
        ModelSpec(
            BounceStep, "bounce_steps.jsonl", lambda t: BounceStep.objects.filter(mailing_list__tenant=t), refs=LIST
        ),
        ModelSpec(
            BounceReport,
            "bounce_reports.jsonl",
            lambda t: BounceReport.objects.filter(mailing_list__tenant=t),
            refs=LIST,
        ),
    ],
)


class DkimSection(ModelSection):
    """DKIM private keys leave the instance only with --include-secrets (never in a tenant's live feed)."""

    @property
    def feed_specs(self) -> list[ModelSpec]:
        return []

    def export(self, writer: Writer, tenant: Any, folder: str) -> None:
        spec = self.specs[0]
        writer.touch(f"{folder}/{spec.path}")
        if writer.include_secrets:
            for record in export_rows(spec, tenant, True):
                writer.record(f"{folder}/{spec.path}", record)


def _tenant_domains(tenant) -> list[str]:
    return list(tenant.domains.values_list("name", flat=True))


dkim = DkimSection(
    name="dkim",
    order=45,
    specs=[ModelSpec(DkimKey, "dkim_keys.jsonl", lambda t: DkimKey.objects.filter(domain__in=_tenant_domains(t)))],
)

# Scoped by the inbound message's id: one query per held post (moderation queues are short).
INBOUND = ModelSpec(InboundMessage, "", lambda pk: InboundMessage.objects.filter(pk=pk), exclude={"dedup_key"})
HELD = ModelSpec(
    HeldMessage,
    "held.jsonl",
    lambda t: HeldMessage.objects.filter(mailing_list__tenant=t),
    refs={**LIST, "message": ("inbound_id", "inbound_id")},
)


class HeldSection:
    """Posts waiting for a moderator: the held record with its message (raw bytes in base64)."""

    name = "held"
    order = 35
    feed_specs = [INBOUND, HELD]  # the held posts' messages; a tenant's feed also carries its other inbound rows

    def count(self, tenant: Any) -> int:
        return HELD.scope(tenant).count()

    def export(self, writer: Writer, tenant: Any, folder: str) -> None:
        path = f"{folder}/{HELD.path}"
        writer.touch(path)
        for record in export_rows(HELD, tenant, False):
            record["message"] = next(export_rows(INBOUND, record["message"], False))
            writer.record(path, record)

    def import_(self, reader: Reader, folder: str, ctx: ImportContext) -> None:
        path = f"{folder}/{HELD.path}"
        count = 0
        for record in reader.records(path):
            list_id = ctx.resolve("list", record.get("list"), path)
            message = to_values(INBOUND, record.get("message") or {}, path)
            inbound = InboundMessage.objects.create(mailing_list_id=list_id, **message)
            HeldMessage.objects.create(inbound=inbound, mailing_list_id=list_id, **to_values(HELD, record, path))
            count += 1
        ctx.counts[HELD.path] = count
