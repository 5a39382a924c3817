from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "poplist.exchange"
    label = "exchange"
