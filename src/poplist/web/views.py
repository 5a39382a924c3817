"""Web's own tabs in the console's navigation (other domains declare theirs in their own views.py)."""

from django.utils.translation import gettext_lazy as _

CONSOLE_TABS = [
    (_("Overview"), "web:list_console"),
    (_("Members"), "web:members"),
    (_("Requests"), "web:requests"),
    (_("Suppressions"), "web:suppressions"),
    (_("Settings"), "web:settings"),
    (_("Archive"), "web:archive_index"),
]
TENANT_TABS = [
    (_("Dashboard"), "web:dashboard"),
    (_("New list"), "web:create_list"),
]
ADMIN_TABS = [
    (_("Tenants"), "web:admin_tenants"),
]
