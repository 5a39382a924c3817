from django.apps import AppConfig


class ListsConfig(AppConfig):
    name = "poplist.lists"
    label = "lists"
