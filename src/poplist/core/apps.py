from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "poplist.core"
    label = "core"
