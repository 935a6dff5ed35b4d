"""The app module ``manage.py gello`` names to the command line: importing it sets Django
up, which reads the settings and imports every app's ``jobs.py`` (``apps.GelloConfig``)."""

from __future__ import annotations

import django

django.setup()
