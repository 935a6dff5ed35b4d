"""The code about to be deployed, for the ``queue:check`` tests (``--app app_versions``):
the jobs of ``tests/stranded.py``, registered as an application module registers its own."""

from __future__ import annotations

from stranded import Invoice, SendFaxes

from gello_queue import default_registry

default_registry.register(Invoice)
default_registry.register(SendFaxes)
