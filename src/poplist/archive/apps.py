from django.apps import AppConfig


class ArchiveConfig(AppConfig):
    name = "poplist.archive"
    label = "archive"
