"""REST endpoints for lists (create, read, settings, delete) and their members (one by one and in bulk)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict, create_model

from poplist.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, paginate
from poplist.api.scope import actor, require_writable, tenant_scope
from poplist.core import addresses
from poplist.core.errors import Conflict, InvalidInput, NotFound
from poplist.lists import members as roster
from poplist.lists import queries, services
from poplist.lists.models import SETTABLE_FIELDS, MailingList, Member
from poplist.lists.subscriptions import Origin

PREFIX = "/lists"
router = Router(tags=["lists"])
BULK_MAX = 1000

Role = Literal["member", "owner", "moderator"]
DeliveryMode = Literal["regular", "mime_digest", "plain_digest", "nomail"]


def _settings_schema() -> type[Schema]:
    """Every list setting as an optional typed field, from the model (docs/list-settings.md)."""
    types = {"BooleanField": bool, "PositiveIntegerField": int, "FloatField": float}
    fields = {}
    for name in SETTABLE_FIELDS:
        field = MailingList._meta.get_field(name)
        kind = types.get(field.get_internal_type(), str)
        if field.choices:
            kind = Literal[tuple(value for value, _label in field.choices)]
        fields[name] = (kind | None, None)
    return create_model("ListSettings", __base__=Schema, **fields)


ListSettings = _settings_schema()


class ListOut(Schema):
    address: str
    tenant: str
    members: int
    owners: list[str]
    moderators: list[str]
    created_at: datetime
    settings: ListSettings


class ListIn(Schema):
    address: str = Field(max_length=254, description="local_part@domain; the domain must be the tenant's")
    display_name: str = Field("", max_length=200)
    style: Literal["discussion", "announce"] = "discussion"
    description: str = ""
    language: Literal["en", "fr"] = "en"
    owners: list[str] = Field(default_factory=list, max_length=100)


class MemberOut(Schema):
    email: str
    display_name: str
    role: str
    delivery_mode: str
    status: str
    disabled_reason: str
    moderated: bool
    joined_via: str
    joined_at: datetime
    confirmed_at: datetime | None


class MemberIn(Schema):
    email: str = Field(max_length=254)
    display_name: str = Field("", max_length=200)
    role: Role = "member"
    welcome: bool = Field(True, description="Send the list's welcome message")
    force: bool = Field(False, description="Add even a suppressed address (you hold their consent)")


class MemberPatch(Schema):
    model_config = ConfigDict(extra="forbid")
    display_name: str | None = Field(None, max_length=200)
    delivery_mode: DeliveryMode | None = None
    moderated: bool | None = None
    enabled: bool | None = Field(None, description="false: stop delivery (disabled by the owner)")


class BulkAddIn(Schema):
    emails: list[str] = Field(max_length=BULK_MAX)
    welcome: bool = True
    force: bool = False


class BulkRemoveIn(Schema):
    emails: list[str] = Field(max_length=BULK_MAX)
    goodbye: bool = False


class ChangeOut(Schema):
    email: str
    result: str
    detail: str


class BulkOut(Schema):
    results: list[ChangeOut]
    counts: dict[str, int]


# --- Lookups every endpoint under /lists/{address} shares ------------------------------------------


def visible_list(request: HttpRequest, address: str) -> MailingList:
    """The list at `address` if this token may see it; another tenant's list is 'not found'."""
    return services.get_list(address, tenant=tenant_scope(request))


def writable_list(request: HttpRequest, address: str) -> MailingList:
    mailing_list = visible_list(request, address)
    require_writable(request, mailing_list.tenant)
    return mailing_list


def _origin(request: HttpRequest) -> Origin:
    return Origin(via=Member.Via.API, actor=actor(request), ip=request.META.get("REMOTE_ADDR"))


def _list_row(mailing_list: MailingList) -> dict:
    summary = queries.list_summary(mailing_list)
    summary["settings"] = {key: summary.pop(key) for key in SETTABLE_FIELDS}
    return summary


# --- Lists -----------------------------------------------------------------------------------------


@router.get("", response=Page[ListOut], summary="List the lists")
def list_lists(
    request,
    cursor: str | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    domain: str | None = None,
):
    scope = tenant_scope(request)
    query = MailingList.objects.select_related("tenant", "domain")
    if scope is not None:
        query = query.filter(tenant=scope)
    if domain:
        query = query.filter(domain__name=domain.lower())
    page = paginate(query, order=("address",), cursor=cursor, limit=limit)
    page["items"] = [_list_row(m) for m in page["items"]]
    return page


@router.post("", response={201: ListOut}, summary="Create a list")
def create_list(request, body: ListIn):
    scope = tenant_scope(request)
    domain_name = body.address.rpartition("@")[2].lower()
    if scope is None:
        from poplist.accounts.models import Domain

        owner = Domain.objects.select_related("tenant").filter(name=domain_name).first()
        if owner is None:
            raise NotFound(_("There is no domain %(domain)s."), domain=domain_name)
        scope = owner.tenant
    require_writable(request, scope)
    created = services.create_list(
        scope,
        body.address,
        display_name=body.display_name,
        style=body.style,
        owners=body.owners,
        description=body.description,
        language=body.language,
        actor=actor(request),
    )
    return 201, _list_row(created)


@router.get("/{address}", response=ListOut, summary="A list with its settings")
def get_list(request, address: str):
    return _list_row(visible_list(request, address))


@router.patch("/{address}", response=ListOut, summary="Change list settings (all are checked before any is saved)")
def update_list(request, address: str, body: ListSettings):
    mailing_list = writable_list(request, address)
    values = body.model_dump(exclude_unset=True)
    nulls = [key for key, value in values.items() if value is None]
    if nulls:
        raise InvalidInput(_("%(key)s cannot be null."), key=nulls[0])
    services.update_settings(mailing_list, values, actor=actor(request))
    mailing_list.refresh_from_db()
    return _list_row(mailing_list)


@router.delete("/{address}", response={204: None}, summary="Delete a list with its members and archive")
def delete_list(request, address: str):
    services.delete_list(writable_list(request, address), actor=actor(request))
    return 204, None


# --- Members ---------------------------------------------------------------------------------------


@router.get("/{address}/members", response=Page[MemberOut], summary="Members, by address, with filters")
def list_members(
    request,
    address: str,
    cursor: str | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    role: Literal["member", "owner", "moderator", "all"] = "member",
    delivery_mode: DeliveryMode | None = None,
    status: Literal["enabled", "disabled"] | None = None,
    moderated: bool | None = None,
    q: str | None = Query(None, max_length=254, description="Part of the address or of the name"),
):
    mailing_list = visible_list(request, address)
    query = Member.objects.filter(mailing_list=mailing_list)
    if role != "all":
        query = query.filter(role=role)
    if delivery_mode:
        query = query.filter(delivery_mode=delivery_mode)
    if status:
        query = query.filter(status=status)
    if moderated is not None:
        query = query.filter(moderated=moderated)
    if q:
        query = query.filter(Q(email__icontains=q) | Q(display_name__icontains=q))
    # (email, role) is unique in a list and indexed with it: each page is one index range scan.
    return paginate(query.only(*MemberOut.model_fields, "id"), order=("email", "role"), cursor=cursor, limit=limit)


@router.post("/{address}/members", response={201: MemberOut}, summary="Add a member, owner or moderator")
def add_member(request, address: str, body: MemberIn):
    mailing_list = writable_list(request, address)
    if body.role != Member.Role.MEMBER:
        email = addresses.normalize(body.email)
        if Member.objects.filter(mailing_list=mailing_list, email=email, role=body.role).exists():
            raise Conflict(
                _("%(email)s is already a %(role)s of %(list)s."), email=email, role=body.role, list=mailing_list
            )
        return 201, services.add_role(mailing_list, email, body.role, actor=actor(request), name=body.display_name)
    [change] = roster.add_members(
        mailing_list, [body.email], origin=_origin(request), welcome=body.welcome, force=body.force
    )
    if change.result == "invalid":
        raise InvalidInput(_("%(email)s is not a valid address: %(reason)s"), email=body.email, reason=change.detail)
    if change.result == "suppressed":
        raise Conflict(
            _("%(email)s left this list or was removed; add them with force=true only with their consent."),
            email=change.email,
        )
    if change.result == "already_member":
        raise Conflict(_("%(email)s is already a member of %(list)s."), email=change.email, list=mailing_list.address)
    member = roster.get_member(mailing_list, change.email)
    if body.display_name:
        roster.set_member_options(member, actor=actor(request), display_name=body.display_name)
    return 201, member


# Before /members/{email}, which would otherwise match bulk-add.
def _bulk(changes: list[roster.Change]) -> dict:
    counts: dict[str, int] = {}
    for change in changes:
        counts[change.result] = counts.get(change.result, 0) + 1
    return {"results": [c.__dict__ for c in changes], "counts": counts}


@router.post("/{address}/members/bulk-add", response=BulkOut, summary=f"Add up to {BULK_MAX} members at once")
def bulk_add(request, address: str, body: BulkAddIn):
    mailing_list = writable_list(request, address)
    services.check_member_quota(mailing_list.tenant, len(body.emails))
    return _bulk(
        roster.add_members(mailing_list, body.emails, origin=_origin(request), welcome=body.welcome, force=body.force)
    )


@router.post("/{address}/members/bulk-remove", response=BulkOut, summary=f"Remove up to {BULK_MAX} members at once")
def bulk_remove(request, address: str, body: BulkRemoveIn):
    mailing_list = writable_list(request, address)
    return _bulk(roster.remove_members(mailing_list, body.emails, origin=_origin(request), goodbye=body.goodbye))


@router.get("/{address}/members/{email}", response=MemberOut, summary="One member")
def get_member(request, address: str, email: str, role: Role = "member"):
    return roster.get_member(visible_list(request, address), email, role)


@router.patch("/{address}/members/{email}", response=MemberOut, summary="Change a member's options")
def update_member(request, address: str, email: str, body: MemberPatch):
    member = roster.get_member(writable_list(request, address), email)
    values = body.model_dump(exclude_unset=True)
    enabled = values.pop("enabled", None)
    nulls = [key for key, value in values.items() if value is None]
    if nulls:
        raise InvalidInput(_("%(key)s cannot be null."), key=nulls[0])
    if values:
        roster.set_member_options(member, actor=actor(request), **values)
    if enabled is not None and enabled != (member.status == Member.Status.ENABLED):
        roster.set_member_enabled(member, enabled, reason=Member.DisabledReason.BY_OWNER, actor=actor(request))
    member.refresh_from_db()
    return member


@router.delete("/{address}/members/{email}", response={204: None}, summary="Remove a member (then suppressed)")
def remove_member(request, address: str, email: str, role: Role = "member", goodbye: bool = False):
    mailing_list = writable_list(request, address)
    if role != Member.Role.MEMBER:
        services.remove_role(mailing_list, email, role, actor=actor(request))
        return 204, None
    [change] = roster.remove_members(mailing_list, [email], origin=_origin(request), goodbye=goodbye)
    if change.result != "removed":
        raise NotFound(_("%(email)s is not a member of %(list)s."), email=email, list=mailing_list.address)
    return 204, None


# Imports (upload a CSV, poll the job) live in their own module, under the same /lists prefix.
from poplist.lists.api_imports import router as _imports_router  # noqa: E402

router.add_router("", _imports_router)

# Subscription requests (list, approve, reject, in bulk), also under /lists.
from poplist.lists.api_requests import router as _requests_router  # noqa: E402

router.add_router("", _requests_router)
