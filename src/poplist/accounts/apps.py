from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "poplist.accounts"
    label = "accounts"
