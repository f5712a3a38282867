"""``manage.py maturity_export SLUG [--model-version N]``: a maturity model as YAML, on stdout."""

from django.core.management.base import BaseCommand, CommandError

from maturity.catalogue import dump_model
from maturity.models import MaturityModel


class Command(BaseCommand):
    help = "Print a maturity model version as YAML (the latest unless --model-version)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--model-version", type=int, dest="model_version")

    def handle(self, *args, slug: str, model_version: int | None, **options):
        models = MaturityModel.objects.filter(slug=slug)
        if model_version is not None:
            models = models.filter(version=model_version)
        model = models.order_by("-version").first()
        if model is None:
            raise CommandError(
                f"No maturity model {slug!r}"
                + (f" version {model_version}." if model_version else ".")
            )
        self.stdout.write(dump_model(model), ending="")
