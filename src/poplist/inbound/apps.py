from django.apps import AppConfig


class InboundConfig(AppConfig):
    name = "poplist.inbound"
    label = "inbound"

    def ready(self) -> None:
        from poplist.inbound import imported  # noqa: F401  registers the appliers of imported bans and filters
