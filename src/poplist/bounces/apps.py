from django.apps import AppConfig


class BouncesConfig(AppConfig):
    name = "poplist.bounces"
    label = "bounces"
