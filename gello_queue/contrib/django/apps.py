"""The Django app: settings from Django's settings, jobs from each app's ``jobs.py``."""

from __future__ import annotations

from django.apps import AppConfig
from django.conf import settings
from django.utils.module_loading import autodiscover_modules

from gello_queue.contrib.config import configure_default_queue


class GelloConfig(AppConfig):
    name = "gello_queue.contrib.django"
    label = "gello"
    verbose_name = "gello"

    def ready(self) -> None:
        configure_default_queue(django_settings())
        # Importing a job class registers it: a worker then knows every job by name.
        autodiscover_modules("jobs")


def django_settings() -> dict[str, object]:
    """Django's settings (upper-case names, as Django reads them) as a mapping."""
    return {name: getattr(settings, name) for name in dir(settings) if name.isupper()}
