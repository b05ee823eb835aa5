"""Drives the Django half of examples/django-interop for its test.

Run with the example folder as the working directory and SECRET_KEY,
SHARED_DATABASE set; reads one JSON document from stdin:

    {"steps": [{"get": "/me/", "cookie": "<sessionid>"},
               {"post": "/login/", "data": {...}},
               {"set_password": ["alice", "new password"]}]}

Each request goes through the site's real URLconf and middleware with
django.test.Client (its CSRF checks are off, as for any test client). Writes
one JSON document: for each step, the status, the JSON body (or null), and
the session cookie the response set ("" when it deleted it, null when it set
none).
"""

import json
import os
import sys

sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_site.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client  # noqa: E402


def request(step):
    client = Client()
    if step.get("cookie"):
        client.cookies[settings.SESSION_COOKIE_NAME] = step["cookie"]
    if "get" in step:
        response = client.get(step["get"])
    else:
        response = client.post(step["post"], step.get("data", {}))
    morsel = response.cookies.get(settings.SESSION_COOKIE_NAME)
    try:
        body = response.json()
    except ValueError:
        body = None
    return {
        "status": response.status_code,
        "json": body,
        "cookie": None if morsel is None else morsel.value,
    }


def set_password(username, password):
    user = get_user_model().objects.get(username=username)
    user.set_password(password)
    user.save()
    return {"password": user.password}


def main():
    steps = json.loads(sys.stdin.buffer.read().decode("utf-8"))["steps"]
    results = []
    for step in steps:
        if "set_password" in step:
            results.append(set_password(*step["set_password"]))
        else:
            results.append(request(step))
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
