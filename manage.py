#!/usr/bin/env python
"""Django's command-line utility; attaches to the embedded servers when none are configured."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    from portal.embedded import attach_unless_configured

    attach_unless_configured()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
