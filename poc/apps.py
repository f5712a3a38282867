from django.apps import AppConfig
from django.db.models.signals import post_migrate

# The radar's default quadrants, as on Thoughtworks' radar; leads may add more.
DEFAULT_QUADRANTS = [
    ("techniques", "Techniques"),
    ("tools", "Tools"),
    ("platforms", "Platforms"),
    ("languages-frameworks", "Languages & frameworks"),
]


def add_default_quadrants(sender, using="default", **kwargs) -> None:
    """After every migrate (and every flush, which sends the same signal): a radar always has
    its quadrants, as a fresh database always has its content types."""
    from poc.models import Quadrant

    for position, (slug, name) in enumerate(DEFAULT_QUADRANTS):
        if not Quadrant.objects.using(using).filter(slug=slug).exists():
            Quadrant.objects.using(using).create(slug=slug, name=name, position=position)


class PocConfig(AppConfig):
    name = "poc"
    verbose_name = "POC reviews and technology radar"

    def ready(self) -> None:
        post_migrate.connect(add_default_quadrants, sender=self)
