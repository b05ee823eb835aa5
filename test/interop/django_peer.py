"""A real Django, driven by keepstate's interop tests.

Reads one JSON batch from stdin:

    {"secret": "...", "fallbacks": [...], "settings": {...},
     "ops": [{"id": "a", "op": "sign", "value": "hello"}, ...]}

runs every operation with Django's own code and writes one JSON document to
stdout:

    {"django_version": "5.2.17", "python_version": "3.11.7",
     "features": {...}, "results": [{"id": "a", "result": ...}, ...]}

A failed operation gives {"id": ..., "error": {"type": ..., "message": ...}}
instead of "result", and the batch goes on. One process serves a whole batch,
so the test suite starts Python once per batch, not once per assertion.

"settings" configures Django once for the process (see DjangoSettings in
test/support/django.ts): the database (an SQLite file, or PostgreSQL with a
schema of the test's own), SESSION_FILE_PATH, the Redis server of the
django-redis-sessions engine, SESSION_COOKIE_AGE and friends, and whether
django.contrib.auth is installed.

Every operation may carry "secret" and "fallbacks" (a list) to sign or verify
with other keys than the batch's; Django reads them from settings, as it does
in a real project. Session operations may carry "now" (ISO 8601): Django's
timezone.now() returns that instant while the operation runs, so expiry
arithmetic and expire_date rows are exact. Signatures keep the real clock (the
Node side moves its own clock when it needs an old or a future timestamp), and
so do file modification times.

Session operations name an "engine": db, cached_db (its cache in the
folder settings["cache_location"], so that it outlives the process), file,
signed_cookies, or redis (redis_sessions_engine.py beside this file:
django-redis-sessions' layout).

Runs unchanged under Django 3.2 (Debian's python3-django, /usr/bin/python3)
and Django 5.2 (a virtual environment); "features" says which of the
version-dependent behaviours this Django has.
"""

import contextlib
import datetime
import json
import os
import platform
import sys

import django
from django.conf import global_settings, settings


def database_settings(database):
    if database is None:
        # Signing and encoding need no database, but the sessions app wants one.
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
    if database["engine"] == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": database["name"]}
    return {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": database["host"],
        "PORT": database["port"],
        "USER": database["user"],
        "NAME": database["name"],
        # Django's table names are fixed (django_session): a schema of the test's
        # own keeps test runs apart.
        "OPTIONS": {"options": "-c search_path=%s" % database["schema"]},
    }


def cache_settings(location):
    if location is None:
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    # A folder outlives the process, as a shared cache outlives a request.
    return {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": location}


def configure(batch):
    """settings.configure from the batch's "settings"; once per process."""
    options = batch.get("settings") or {}
    apps = ["django.contrib.sessions"]
    if options.get("auth"):
        apps = ["django.contrib.contenttypes", "django.contrib.auth"] + apps
    redis = options.get("redis") or {}
    settings.configure(
        SECRET_KEY="keepstate-interop-placeholder",
        USE_TZ=True,
        INSTALLED_APPS=apps,
        DATABASES={"default": database_settings(options.get("database"))},
        SESSION_FILE_PATH=options.get("session_file_path"),
        SESSION_COOKIE_AGE=options.get("cookie_age", global_settings.SESSION_COOKIE_AGE),
        SESSION_COOKIE_NAME=options.get("cookie_name", "sessionid"),
        SESSION_EXPIRE_AT_BROWSER_CLOSE=options.get("expire_at_browser_close", False),
        CACHES={"default": cache_settings(options.get("cache_location"))},
        SESSION_REDIS={
            "host": redis.get("host", "127.0.0.1"),
            "port": redis.get("port", 6379),
            "db": redis.get("db", 0),
            "prefix": redis.get("prefix", ""),
        },
        ALLOWED_HOSTS=["*"],
    )
    django.setup()


ENGINES = {
    "db": "django.contrib.sessions.backends.db",
    "file": "django.contrib.sessions.backends.file",
    "cached_db": "django.contrib.sessions.backends.cached_db",
    "signed_cookies": "django.contrib.sessions.backends.signed_cookies",
    # redis_sessions_engine.py, found because this script's folder is on sys.path.
    "redis": "redis_sessions_engine",
}

def parse_instant(text):
    """An aware datetime from ISO 8601 text (Z or an offset)."""
    value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("an instant needs an offset: %r" % text)
    return value


def iso(value):
    """A datetime as ISO text, other values as they are (3.2 keeps odd ones)."""
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


@contextlib.contextmanager
def frozen_now(op):
    """timezone.now() returns op["now"] while the operation runs."""
    from django.utils import timezone

    if "now" not in op:
        yield
        return
    instant = parse_instant(op["now"])
    real = timezone.now
    # The session backends and auth call timezone.now() through the module.
    timezone.now = lambda: instant
    try:
        yield
    finally:
        timezone.now = real


def attempt(work):
    """{"value": ...}, or {"raised": "Type: message"} when Django raises."""
    try:
        return {"value": work()}
    except Exception as exc:  # noqa: BLE001 - the test decides what a failure means
        return {"raised": "%s: %s" % (type(exc).__name__, exc)}


def session_report(session, op):
    """What a session holds and what Django computes of its expiry."""
    from django.utils import timezone

    modification = parse_instant(op["modification"]) if "modification" in op else None

    def expiry_kwargs():
        return {"modification": modification} if modification else {}

    data = attempt(lambda: json.loads(json.dumps(dict(session.items()), default=iso)))
    types = attempt(lambda: {key: type(value).__name__ for key, value in session.items()})
    return {
        "session_key": session.session_key,
        "data": data.get("value"),
        "data_raised": data.get("raised"),
        "types": types.get("value"),
        "reprs": attempt(lambda: {key: repr(value) for key, value in session.items()}).get(
            "value"
        ),
        "expiry_age": attempt(lambda: session.get_expiry_age(**expiry_kwargs())),
        "expiry_date": attempt(lambda: iso(session.get_expiry_date(**expiry_kwargs()))),
        "expire_at_browser_close": attempt(session.get_expire_at_browser_close),
        "now": timezone.now().isoformat(),
    }


def apply_actions(session, actions):
    """Does to a session what a view would: update, set_expiry, clear, flush, cycle_key..."""
    for action in actions:
        if "update" in action:
            session.update(action["update"])
        elif "delete" in action:
            del session[action["delete"]]
        elif action.get("clear"):
            session.clear()
        elif "to_float" in action:
            session[action["to_float"]] = float(session[action["to_float"]])
        elif "set_expiry" in action:
            session.set_expiry(expiry_value(action["set_expiry"]))
        elif action.get("flush"):
            session.flush()
        elif action.get("cycle_key"):
            session.cycle_key()
        else:
            raise ValueError("unknown action %r" % (action,))


def expiry_value(spec):
    """What set_expiry receives: seconds, a datetime, a timedelta, or None."""
    if "seconds" in spec:
        return spec["seconds"]
    if "datetime" in spec:
        return parse_instant(spec["datetime"])
    if "timedelta" in spec:
        return datetime.timedelta(seconds=spec["timedelta"])
    if spec.get("none"):
        return None
    raise ValueError("unknown expiry %r" % (spec,))


def run_middleware(op, view):
    """One request through SessionMiddleware, with the cookie op["key"] if any.

    Returns the request and Django's response.
    """
    from django.contrib.sessions.middleware import SessionMiddleware
    from django.http import HttpRequest

    request = HttpRequest()
    request.method = op.get("method", "GET")
    request.META["SERVER_NAME"] = "testserver"
    request.META["SERVER_PORT"] = "80"
    if op.get("key") is not None:
        request.COOKIES[settings.SESSION_COOKIE_NAME] = op["key"]
    response = SessionMiddleware(view)(request)
    return request, response


def cookie_report(response):
    """The session cookie the response sets, or None."""
    morsel = response.cookies.get(settings.SESSION_COOKIE_NAME)
    if morsel is None:
        return None
    return {
        "value": morsel.value,
        "max_age": morsel["max-age"] if morsel["max-age"] != "" else None,
        "expires": morsel["expires"] or None,
        "header": morsel.OutputString(),
    }


def op_session_write(op):
    """A request through SessionMiddleware whose view does op["actions"].

    The report says what the response's cookie is, what the session holds
    and its expiry, and what the engine stored.
    """
    from django.http import HttpResponse

    def view(request):
        apply_actions(request.session, op.get("actions", []))
        return HttpResponse(status=op.get("status", 200))

    with settings_for_engine(op):
        request, response = run_middleware(op, view)
        report = session_report(request.session, op)
        report["cookie"] = cookie_report(response)
        report["vary"] = response.get("Vary")
        report["stored"] = stored(op["engine"], request.session.session_key)
        return report


def op_session_read(op):
    """SessionStore(session_key=op["key"]): what loading it gives."""
    with settings_for_engine(op):
        from importlib import import_module

        store = import_module(ENGINES[op["engine"]]).SessionStore(session_key=op["key"])
        report = session_report(store, op)
        report["stored"] = stored(op["engine"], op["key"])
        return report


@contextlib.contextmanager
def settings_for_engine(op):
    from django.test.utils import override_settings

    with override_settings(SESSION_ENGINE=ENGINES[op["engine"]]):
        yield


def stored(engine, session_key):
    """What the engine keeps for a key, read around the SessionStore API."""
    if not session_key:
        return None
    if engine in ("db", "cached_db"):
        from django.contrib.sessions.models import Session

        row = Session.objects.filter(session_key=session_key).first()
        report = {} if row is None else {
            "session_data": row.session_data,
            "expire_date": row.expire_date.isoformat(),
        }
        if engine == "cached_db":
            from django.contrib.sessions.backends.cached_db import KEY_PREFIX
            from django.core.cache import caches

            cached = caches[settings.SESSION_CACHE_ALIAS].get(KEY_PREFIX + session_key)
            report["cached"] = None if cached is None else dict(cached)
        return report or None
    if engine == "file":
        from django.contrib.sessions.backends.file import SessionStore

        path = SessionStore(session_key)._key_to_file(session_key)
        try:
            with open(path, encoding="ascii") as handle:
                content = handle.read()
            mtime = os.stat(path).st_mtime
        except OSError:
            return None
        return {
            "content": content,
            "mtime": datetime.datetime.fromtimestamp(mtime, tz=datetime.timezone.utc).isoformat(),
        }
    if engine == "redis":
        import redis_sessions_engine

        server = redis_sessions_engine.server()
        key = redis_sessions_engine.real_key(session_key)
        value = server.get(key)
        if value is None:
            return None
        return {"key": key, "value": value.decode("ascii"), "pttl": server.pttl(key)}
    return None


def op_stored(op):
    return stored(op["engine"], op["key"])


def op_migrate(op):
    from django.core.management import call_command

    call_command("migrate", *op.get("apps", []), verbosity=0)


def op_clear_expired(op):
    """The engine's clear_expired, as `manage.py clearsessions` calls it."""
    from importlib import import_module

    with settings_for_engine(op):
        import_module(ENGINES[op["engine"]]).SessionStore.clear_expired()


def user_model():
    from django.contrib.auth import get_user_model

    return get_user_model()


def user_report(user):
    return {"id": str(user.pk), "username": user.username, "password": user.password}


def op_create_user(op):
    user = user_model().objects.create_user(op["username"], password=op["password"])
    return user_report(user)


def op_set_password(op):
    """Changes a password without update_session_auth_hash: other sessions end."""
    user = user_model().objects.get(username=op["username"])
    user.set_password(op["password"])
    user.save()
    return user_report(user)


def op_user(op):
    return user_report(user_model().objects.get(username=op["username"]))


def op_login(op):
    """authenticate() and login() in a view, through SessionMiddleware."""
    from django.contrib.auth import authenticate, login
    from django.http import HttpResponse

    def view(request):
        user = authenticate(request, username=op["username"], password=op["password"])
        if user is None:
            raise ValueError("authenticate() refused %s" % op["username"])
        login(request, user)
        apply_actions(request.session, op.get("actions", []))
        return HttpResponse()

    with settings_for_engine(op):
        request, response = run_middleware(op, view)
        report = session_report(request.session, op)
        report["cookie"] = cookie_report(response)
        return report


def op_get_user(op):
    """django.contrib.auth.get_user on a request carrying the session cookie.

    Reports the user's id (None for AnonymousUser) and what the session then
    holds: get_user flushes a session whose hash fails, and (Django 4.1+)
    cycles the key of one that a fallback secret verified.
    """
    from django.contrib.auth import get_user
    from django.http import HttpResponse

    found = {}

    def view(request):
        user = get_user(request)
        found["user_id"] = str(user.pk) if user.is_authenticated else None
        return HttpResponse()

    with settings_for_engine(op):
        request, response = run_middleware(op, view)
        report = session_report(request.session, op)
        report["user_id"] = found["user_id"]
        report["cookie"] = cookie_report(response)
        return report


# Signing, signed cookies and session encoding: no engine, no database.


def signer_kwargs(op):
    """Keyword arguments for Signer/TimestampSigner taken from an operation."""
    kwargs = {}
    for name in ("salt", "sep", "algorithm"):
        if name in op:
            kwargs[name] = op[name]
    return kwargs


def signer_class(op):
    from django.core import signing

    return signing.TimestampSigner if op.get("timestamp") else signing.Signer


def op_sign(op):
    return signer_class(op)(**signer_kwargs(op)).sign(op["value"])


def op_unsign(op):
    signer = signer_class(op)(**signer_kwargs(op))
    if op.get("timestamp"):
        return signer.unsign(op["value"], max_age=op.get("max_age"))
    return signer.unsign(op["value"])


def op_dumps(op):
    from django.core import signing

    kwargs = {"compress": op.get("compress", False)}
    if "salt" in op:
        kwargs["salt"] = op["salt"]
    return signing.dumps(op["value"], **kwargs)


def op_loads(op):
    from django.core import signing

    kwargs = {"max_age": op.get("max_age")}
    if "salt" in op:
        kwargs["salt"] = op["salt"]
    return signing.loads(op["value"], **kwargs)


def op_set_signed_cookie(op):
    """HttpResponse.set_signed_cookie: the cookie value and its Set-Cookie header."""
    from django.http import HttpResponse

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
    from django.http import HttpRequest
    from django.http.cookie import parse_cookie

    request = HttpRequest()
    if "cookie_header" in op:
        request.COOKIES = parse_cookie(op["cookie_header"])
    else:
        request.COOKIES = {op["name"]: op["value"]}
    return request.get_signed_cookie(
        op["name"], salt=op.get("salt", ""), max_age=op.get("max_age")
    )


def op_session_encode(op):
    from django.contrib.sessions.backends.db import SessionStore

    data = dict(op["data"])
    # Digits, for ints JSON from JavaScript cannot carry exactly.
    for key, digits in op.get("ints", {}).items():
        data[key] = int(digits)
    # The db, cache and file backends share SessionBase.encode.
    return SessionStore().encode(data)


def op_session_decode(op):
    from django.contrib.sessions.backends.db import SessionStore

    # Gives {} for anything that does not verify (and logs a warning).
    data = SessionStore().decode(op["value"])
    if op.get("repr"):
        # Python's repr() of each value: exact, and it tells 1 from 1.0.
        return {key: repr(value) for key, value in data.items()}
    return data


def op_cookie_session_encode(op):
    """The cookie value the signed_cookies backend sends for this data."""
    from django.contrib.sessions.backends.signed_cookies import SessionStore

    store = SessionStore()
    store.update(op["data"])
    store.save()
    return store.session_key


def op_cookie_session_decode(op):
    """What the signed_cookies backend loads from this cookie value ({} if bad)."""
    from django.contrib.sessions.backends.signed_cookies import SessionStore

    return SessionStore(session_key=op["value"]).load()


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
    "migrate": op_migrate,
    "session_write": op_session_write,
    "session_read": op_session_read,
    "stored": op_stored,
    "clear_expired": op_clear_expired,
    "create_user": op_create_user,
    "set_password": op_set_password,
    "user": op_user,
    "login": op_login,
    "get_user": op_get_user,
}


def features():
    from django.contrib.sessions.backends import base
    from django.core import signing

    return {
        # SECRET_KEY_FALLBACKS arrived in Django 4.1; 3.2 has no such setting.
        "secret_key_fallbacks": hasattr(global_settings, "SECRET_KEY_FALLBACKS"),
        # set_signed_cookie's length-prefixed salt (5.2.15+, CVE-2026-6873);
        # older versions salt with NAME + salt.
        "cookie_salt_v2": hasattr(signing, "_cookie_signer_salt"),
        # set_expiry(datetime) stores value.isoformat() (Django 4.0+); 3.2
        # keeps the datetime, which the JSON serializer cannot write.
        "expiry_isoformat": "isoformat" in base.SessionBase.set_expiry.__code__.co_names,
    }


def key_settings(op, batch, has_fallbacks):
    """The settings an operation runs under: its keys, and cookie options."""
    overrides = {"SECRET_KEY": op.get("secret", batch["secret"])}
    fallbacks = op.get("fallbacks", batch.get("fallbacks", []))
    if has_fallbacks:
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


def run(op, batch, has_fallbacks):
    from django.test.utils import override_settings

    try:
        handler = OPERATIONS[op["op"]]
        with override_settings(**key_settings(op, batch, has_fallbacks)), frozen_now(op):
            return {"id": op["id"], "result": handler(op)}
    except Exception as exc:  # noqa: BLE001 - reported to the test, which decides
        return {
            "id": op["id"],
            "error": {"type": type(exc).__name__, "message": str(exc)},
        }


def main():
    # Read bytes and decode as UTF-8 so the result does not depend on the
    # locale the test runner happens to have.
    batch = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    configure(batch)
    found = features()
    results = [run(op, batch, found["secret_key_fallbacks"]) for op in batch["ops"]]
    json.dump(
        {
            "django_version": django.get_version(),
            "python_version": platform.python_version(),
            "features": found,
            "results": results,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
