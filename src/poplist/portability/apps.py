from django.apps import AppConfig


class PortabilityConfig(AppConfig):
    name = "poplist.portability"
    label = "portability"
