from django.apps import AppConfig


class SuperfastConfig(AppConfig):
    name = "superfast"
    verbose_name = "Superfast"
