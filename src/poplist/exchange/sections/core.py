"""The sections of the domains in main: accounts (domains, users), lists (settings, members with consent,
events, suppressions, pending requests, imports) and portability (migration reports, kept settings)."""

from __future__ import annotations

from poplist.accounts.models import Domain, User
from poplist.exchange.records import ModelSpec
from poplist.exchange.registry import ImportContext
from poplist.exchange.sections.models import ModelSection
from poplist.lists.models import ImportRun, MailingList, Member, MemberEvent, PendingRequest, Suppression
from poplist.portability.models import ImportedSetting, MigrationRun

LIST = {"list": ("mailing_list__address", "mailing_list_id")}
# Without --include-secrets a user comes in with an unusable password: they set one with a reset link.
NO_PASSWORD = "!exported-without-password"


def _lists_resolver(ctx: ImportContext) -> None:
    ids = dict(MailingList.objects.filter(tenant=ctx.tenant).values_list("address", "id"))
    ctx.resolvers["list"] = ids.get


def _domains_resolver(ctx: ImportContext) -> None:
    ids = dict(Domain.objects.filter(tenant=ctx.tenant).values_list("name", "id"))
    ctx.resolvers["domain"] = ids.get


accounts = ModelSection(
    name="accounts",
    order=10,
    specs=[
        ModelSpec(Domain, "domains.jsonl", lambda t: Domain.objects.filter(tenant=t)),
        ModelSpec(
            User,
            "users.jsonl",
            lambda t: User.objects.filter(tenant=t),
            secret={"password"},
            # A customer's file never makes anyone a host admin.
            fixed={"is_superuser": False, "is_staff": False},
            defaults={"password": NO_PASSWORD},
        ),
    ],
    after_import={"domains.jsonl": _domains_resolver},
)


def _list_ids(tenant):
    return MailingList.objects.filter(tenant=tenant).values_list("id", flat=True)


lists = ModelSection(
    name="lists",
    order=20,
    specs=[
        ModelSpec(
            MailingList,
            "lists.jsonl",
            lambda t: MailingList.objects.filter(tenant=t),
            refs={"domain": ("domain__name", "domain_id")},
        ),
        ModelSpec(
            Member,
            "members.jsonl",
            lambda t: Member.objects.filter(mailing_list__tenant=t),
            refs=LIST,
            parent="mailing_list_id",
            parents=_list_ids,
        ),
        ModelSpec(
            MemberEvent,
            "member_events.jsonl",
            lambda t: MemberEvent.objects.filter(mailing_list__tenant=t),
            refs=LIST,
            parent="mailing_list_id",
            parents=_list_ids,
        ),
        ModelSpec(
            Suppression,
            "suppressions.jsonl",
            lambda t: Suppression.objects.filter(tenant=t),
            refs=LIST,  # null: the suppression holds for every list of the tenant
        ),
        ModelSpec(
            PendingRequest, "pending.jsonl", lambda t: PendingRequest.objects.filter(mailing_list__tenant=t), refs=LIST
        ),
        ModelSpec(
            ImportRun, "import_runs.jsonl", lambda t: ImportRun.objects.filter(mailing_list__tenant=t), refs=LIST
        ),
    ],
    after_import={"lists.jsonl": _lists_resolver},
)

portability = ModelSection(
    name="portability",
    order=25,
    specs=[
        ModelSpec(MigrationRun, "migration_runs.jsonl", lambda t: MigrationRun.objects.filter(tenant=t), refs=LIST),
        ModelSpec(
            ImportedSetting,
            "imported_settings.jsonl",
            lambda t: ImportedSetting.objects.filter(mailing_list__tenant=t),
            refs=LIST,
        ),
    ],
)
