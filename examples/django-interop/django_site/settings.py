"""The Django half of the example: a site whose logins a Node service shares.

Everything keepstate must agree on is read from the same environment variables
as the Node server (server.ts), so the two cannot drift apart:

- SECRET_KEY, SECRET_KEY_FALLBACKS (comma-separated) <-> secret, fallbackSecrets
- SHARED_DATABASE: the SQLite file both use (Django's tables, django_session
  included) <-> new SqliteStore(new Database(SHARED_DATABASE))
- the session settings below <-> the SessionManager options in server.ts
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ["SECRET_KEY"]
SECRET_KEY_FALLBACKS = [key for key in os.environ.get("SECRET_KEY_FALLBACKS", "").split(",") if key]
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "django_site.urls"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("SHARED_DATABASE", str(BASE_DIR / "shared.sqlite3")),
    }
}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Sessions: the db engine, JSON (the default serializer; keepstate cannot read pickle), and the
# cookie the Node server reads. These are Django's defaults, written out because both sides
# must keep them equal.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_SERIALIZER = "django.contrib.sessions.serializers.JSONSerializer"
SESSION_COOKIE_NAME = "sessionid"
SESSION_COOKIE_AGE = 1209600
SESSION_COOKIE_PATH = "/"
SESSION_COOKIE_DOMAIN = None
