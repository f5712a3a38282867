"""``manage.py maturity_import FILE``: store a maturity model YAML file as a new version."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from maturity.catalogue import CatalogueError, parse_model
from maturity.services import model_import

DEFAULT = Path(__file__).resolve().parents[2] / "default_model.yaml"


class Command(BaseCommand):
    help = (
        "Import a maturity model from YAML (docs/maturity.md has the schema) as the next version "
        "of its slug. Without a file: the default model built from the DORA capabilities."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", default=str(DEFAULT))

    def handle(self, *args, file: str, **options):
        try:
            spec = parse_model(Path(file).read_text(encoding="utf-8"))
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error}") from None
        except CatalogueError as error:
            raise CommandError(
                "\n".join([f"{file} is not a valid model:", *error.problems])
            ) from None
        model = model_import(actor=None, spec=spec)
        self.stdout.write(
            f"Imported {model.name} as {model.slug} version {model.version} "
            f"({model.capabilities.count()} capabilities)."
        )
