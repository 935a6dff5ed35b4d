"""A minimal Django project that queues a welcome email at sign-up."""

from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "example-only"
DEBUG = True
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "site_config.urls"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "gello_queue.contrib.django",  # settings below, each app's jobs.py, manage.py gello
    "shop",
]

DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "site.db"},
}

# gello's settings, read as well as the environment (and winning over it).
QUEUE_URL = f"sqlite:///{BASE_DIR / 'queue.db'}"
QUEUE_DEFAULT = "web"
