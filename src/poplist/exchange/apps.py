from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate, pre_migrate


class ExchangeConfig(AppConfig):
    name = "poplist.exchange"
    label = "exchange"

    def ready(self) -> None:
        from poplist.exchange import readonly
        from poplist.exchange.changelog import reinstall_after_migrate

        post_migrate.connect(reinstall_after_migrate, sender=self, dispatch_uid="exchange-triggers")
        # A standby refuses writes on every connection of every process (exchange/readonly.py).
        connection_created.connect(readonly.install_on, dispatch_uid="exchange-standby-guard")
        pre_migrate.connect(readonly.migration_started, dispatch_uid="exchange-migrating")
        post_migrate.connect(readonly.migration_done, sender=self, dispatch_uid="exchange-migrated")
