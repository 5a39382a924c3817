"""The Django admin for the host's operators: every model, searchable, with the heavy columns left out."""

from django.contrib import admin

from poplist.accounts.models import ApiToken, Domain, Tenant, User
from poplist.lists.models import ImportJob, ImportRun, MailingList, Member, MemberEvent, PendingRequest, Suppression


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "status", "quota_lists", "quota_members", "created_at"]
    list_filter = ["status"]
    search_fields = ["slug", "name"]


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "created_at"]
    search_fields = ["name"]
    raw_id_fields = ["tenant"]


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ["email", "tenant", "is_superuser", "is_active", "language"]
    search_fields = ["email", "name"]
    raw_id_fields = ["tenant"]
    exclude = ["password"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "tenant", "user", "name", "created_at", "revoked_at"]
    readonly_fields = ["prefix", "digest"]
    raw_id_fields = ["tenant", "user"]


@admin.register(MailingList)
class MailingListAdmin(admin.ModelAdmin):
    list_display = ["address", "tenant", "display_name", "member_count", "style", "created_at"]
    search_fields = ["address", "display_name"]
    raw_id_fields = ["tenant", "domain"]
    show_full_result_count = False


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    # Millions of rows: no full count, no list filters that scan, lookups by exact address.
    list_display = ["email", "mailing_list", "role", "delivery_mode", "status", "joined_at"]
    search_fields = ["=email"]
    raw_id_fields = ["mailing_list"]
    show_full_result_count = False


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ["email", "tenant", "mailing_list", "reason", "created_at"]
    search_fields = ["=email"]
    raw_id_fields = ["tenant", "mailing_list"]
    show_full_result_count = False


@admin.register(PendingRequest)
class PendingRequestAdmin(admin.ModelAdmin):
    list_display = ["email", "mailing_list", "kind", "state", "created_at", "expires_at"]
    search_fields = ["=email"]
    raw_id_fields = ["mailing_list"]
    exclude = ["token_digest"]


@admin.register(MemberEvent)
class MemberEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "mailing_list", "email", "action", "via", "actor"]
    search_fields = ["=email"]
    raw_id_fields = ["mailing_list"]
    show_full_result_count = False


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    list_display = ["started_at", "mailing_list", "source", "mode", "rows", "added", "rejected"]
    raw_id_fields = ["mailing_list"]


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ["created_at", "mailing_list", "source", "state", "size"]
    exclude = ["data"]
    raw_id_fields = ["mailing_list", "run"]
