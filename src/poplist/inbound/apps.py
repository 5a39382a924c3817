from django.apps import AppConfig


class InboundConfig(AppConfig):
    name = "poplist.inbound"
    label = "inbound"
