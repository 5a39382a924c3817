from django.apps import AppConfig


class SitesConfig(AppConfig):
    name = "poplist.sites"
    label = "sites"
