from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "poplist.delivery"
    label = "delivery"
