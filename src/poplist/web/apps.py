from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "poplist.web"
    label = "web"
