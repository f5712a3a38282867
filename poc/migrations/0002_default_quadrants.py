"""The radar's default quadrants, as on Thoughtworks' radar; leads may add or rename them."""

from django.db import migrations

DEFAULT_QUADRANTS = [
    ("techniques", "Techniques"),
    ("tools", "Tools"),
    ("platforms", "Platforms"),
    ("languages-frameworks", "Languages & frameworks"),
]


def add_default_quadrants(apps, schema_editor):
    Quadrant = apps.get_model("poc", "Quadrant")
    for position, (slug, name) in enumerate(DEFAULT_QUADRANTS):
        Quadrant.objects.get_or_create(slug=slug, defaults={"name": name, "position": position})


class Migration(migrations.Migration):
    dependencies = [("poc", "0001_initial")]

    operations = [migrations.RunPython(add_default_quadrants, migrations.RunPython.noop)]
