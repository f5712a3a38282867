from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "reporting"
    verbose_name = "Delivery metrics and reports"

    def ready(self) -> None:
        from pipelines.signals import records_stored
        from reporting.rollups import refresh_pending

        def refresh_rollups(**_kwargs) -> None:
            refresh_pending()

        records_stored.connect(refresh_rollups, dispatch_uid="reporting.refresh_rollups")
