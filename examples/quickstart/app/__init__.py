"""The quickstart application: importing it registers its jobs (``--app app``)."""

from app import jobs  # noqa: F401  (registers SendWelcomeEmail)
