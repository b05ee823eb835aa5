"""A real Django, driven by keepstate's interop tests.

Reads one JSON batch from stdin:

    {"secret": "...", "ops": [{"id": "a", "op": "sign", "value": "hello"}, ...]}

runs every operation with Django's own code and writes one JSON document to
stdout:

    {"django_version": "5.2.17", "python_version": "3.11.7",
     "features": {...}, "results": [{"id": "a", "result": ...}, ...]}

A failed operation gives {"id": ..., "error": {"type": ..., "message": ...}}
instead of "result", and the batch goes on. One process serves a whole batch,
so the test suite starts Python once per test file, not once per assertion.

Every operation may carry "secret" and "fallbacks" (a list) to sign or verify
with other keys than the batch's; Django reads them from settings, as it does
in a real project. Time is the real clock: the Node side moves its own clock
when it needs an old or a future timestamp.

Runs unchanged under Django 3.2 (Debian's python3-django, /usr/bin/python3)
and Django 5.2 (a virtual environment); "features" says which of the
version-dependent behaviours this Django has.
"""

import json
import platform
import sys

import django
from django.conf import global_settings, settings

# Sessions and signing need no database, but INSTALLED_APPS has to hold the
# sessions app before its backends can be imported.
settings.configure(
    SECRET_KEY="keepstate-interop-placeholder",
    USE_TZ=True,
    INSTALLED_APPS=["django.contrib.sessions"],
    DATABASES={
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
    },
)
django.setup()

from django.contrib.sessions.backends.db import SessionStore as DbSessionStore  # noqa: E402
from django.contrib.sessions.backends.signed_cookies import (  # noqa: E402
    SessionStore as CookieSessionStore,
)
from django.core import signing  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.http.cookie import parse_cookie  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

FEATURES = {
    # SECRET_KEY_FALLBACKS arrived in Django 4.1; 3.2 has no such setting.
    "secret_key_fallbacks": hasattr(global_settings, "SECRET_KEY_FALLBACKS"),
    # set_signed_cookie's length-prefixed salt (5.2.15+, CVE-2026-6873);
    # older versions salt with NAME + salt.
    "cookie_salt_v2": hasattr(signing, "_cookie_signer_salt"),
}

# The salt of django.contrib.sessions.backends.signed_cookies (both versions).
COOKIE_SESSION_SALT = "django.contrib.sessions.backends.signed_cookies"


def signer_kwargs(op):
    """Keyword arguments for Signer/TimestampSigner taken from an operation."""
    kwargs = {}
    for name in ("salt", "sep", "algorithm"):
        if name in op:
            kwargs[name] = op[name]
    return kwargs


def signer_class(op):
    return signing.TimestampSigner if op.get("timestamp") else signing.Signer


def op_sign(op):
    return signer_class(op)(**signer_kwargs(op)).sign(op["value"])


def op_unsign(op):
    signer = signer_class(op)(**signer_kwargs(op))
    if op.get("timestamp"):
        return signer.unsign(op["value"], max_age=op.get("max_age"))
    return signer.unsign(op["value"])


def op_dumps(op):
    kwargs = {"compress": op.get("compress", False)}
    if "salt" in op:
        kwargs["salt"] = op["salt"]
    return signing.dumps(op["value"], **kwargs)


def op_loads(op):
    kwargs = {"max_age": op.get("max_age")}
    if "salt" in op:
        kwargs["salt"] = op["salt"]
    return signing.loads(op["value"], **kwargs)


def op_set_signed_cookie(op):
    """HttpResponse.set_signed_cookie: the cookie value and its Set-Cookie header."""
    response = HttpResponse()
    kwargs = {}
    for name in ("max_age", "path", "domain", "secure", "httponly", "samesite"):
        if name in op:
            kwargs[name] = op[name]
    response.set_signed_cookie(op["name"], op["value"], salt=op.get("salt", ""), **kwargs)
    morsel = response.cookies[op["name"]]
    return {"value": morsel.value, "header": morsel.OutputString()}


def op_get_signed_cookie(op):
    """HttpRequest.get_signed_cookie on a request carrying a Cookie header.

    "cookie_header" is parsed the way Django's handlers parse HTTP_COOKIE;
    "value" is a shortcut for a Cookie header holding just this cookie.
    """
    request = HttpRequest()
    if "cookie_header" in op:
        request.COOKIES = parse_cookie(op["cookie_header"])
    else:
        request.COOKIES = {op["name"]: op["value"]}
    return request.get_signed_cookie(
        op["name"], salt=op.get("salt", ""), max_age=op.get("max_age")
    )


def op_session_encode(op):
    # The db, cache and file backends share SessionBase.encode.
    return DbSessionStore().encode(op["data"])


def op_session_decode(op):
    # Gives {} for anything that does not verify (and logs a warning).
    return DbSessionStore().decode(op["value"])


def op_cookie_session_encode(op):
    """The cookie value the signed_cookies backend sends for this data."""
    store = CookieSessionStore()
    store.update(op["data"])
    store.save()
    return store.session_key


def op_cookie_session_decode(op):
    """What the signed_cookies backend loads from this cookie value ({} if bad)."""
    return CookieSessionStore(session_key=op["value"]).load()


OPERATIONS = {
    "sign": op_sign,
    "unsign": op_unsign,
    "dumps": op_dumps,
    "loads": op_loads,
    "set_signed_cookie": op_set_signed_cookie,
    "get_signed_cookie": op_get_signed_cookie,
    "session_encode": op_session_encode,
    "session_decode": op_session_decode,
    "cookie_session_encode": op_cookie_session_encode,
    "cookie_session_decode": op_cookie_session_decode,
}


def key_settings(op, batch):
    """The settings an operation runs under: its keys, and cookie options."""
    overrides = {"SECRET_KEY": op.get("secret", batch["secret"])}
    fallbacks = op.get("fallbacks", batch.get("fallbacks", []))
    if FEATURES["secret_key_fallbacks"]:
        overrides["SECRET_KEY_FALLBACKS"] = fallbacks
    elif fallbacks:
        # Django 3.2 would silently ignore the setting; say so instead of
        # letting a test believe fallbacks were tried.
        raise NotImplementedError(
            "Django %s has no SECRET_KEY_FALLBACKS" % django.get_version()
        )
    if "legacy_salt_fallback" in op:
        overrides["SIGNED_COOKIE_LEGACY_SALT_FALLBACK"] = op["legacy_salt_fallback"]
    return overrides


def run(op, batch):
    try:
        handler = OPERATIONS[op["op"]]
        with override_settings(**key_settings(op, batch)):
            return {"id": op["id"], "result": handler(op)}
    except Exception as exc:
        return {
            "id": op["id"],
            "error": {"type": type(exc).__name__, "message": str(exc)},
        }


def main():
    # Read bytes and decode as UTF-8 so the result does not depend on the
    # locale the test runner happens to have.
    batch = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    results = [run(op, batch) for op in batch["ops"]]
    json.dump(
        {
            "django_version": django.get_version(),
            "python_version": platform.python_version(),
            "features": FEATURES,
            "results": results,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
