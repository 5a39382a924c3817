from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ExchangeConfig(AppConfig):
    name = "poplist.exchange"
    label = "exchange"

    def ready(self) -> None:
        from poplist.exchange.changelog import reinstall_after_migrate

        post_migrate.connect(reinstall_after_migrate, sender=self, dispatch_uid="exchange-triggers")
