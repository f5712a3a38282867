from django.apps import AppConfig


class PocConfig(AppConfig):
    name = "poc"
    verbose_name = "POC reviews and technology radar"
