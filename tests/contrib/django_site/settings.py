"""The smallest Django project the integration's tests need (SQLite)."""

SECRET_KEY = "tests-only"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = ["gello_queue.contrib.django", "django_site.members"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

QUEUE_URL = "memory://gello-django-tests"
QUEUE_DEFAULT = "web"
GELLO_REDIS_URL = "redis://queue-host:6379/2"
DATABASE_URL = "postgresql://the-app-database/not-the-queue"
