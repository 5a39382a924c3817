from django.apps import AppConfig


class SitesConfig(AppConfig):
    name = "poplist.sites"
    label = "sites"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from poplist.accounts.models import Tenant

        # A suspended (or reactivated) tenant changes what its hostnames answer: servers must re-read.
        post_save.connect(_tenant_saved, sender=Tenant, dispatch_uid="sites-tenant-status")


def _tenant_saved(sender, instance, created: bool, update_fields=None, **kwargs) -> None:
    if created or (update_fields is not None and "status" not in update_fields):
        return
    from django.db import transaction

    from poplist.sites import cache, services

    services._bump()
    transaction.on_commit(cache.touch_generation)
