"""Real Django for bench/lost-updates.mjs: one session engine behind a threaded WSGI server.

    python django_lost_updates.py ENGINE DIR

ENGINE is "db" (django.contrib.sessions.backends.db on an SQLite file in DIR) or
"signed_cookies" (django.contrib.sessions.backends.signed_cookies). DIR is a temp folder the
Node script made and removes. The secret and the cookie age come from the environment
(LOST_UPDATES_SECRET, LOST_UPDATES_MAX_AGE), the same as the Node libraries get.

Start-up: settings.configure, django.setup(), `migrate sessions`, then a wsgiref server with
socketserver.ThreadingMixIn (a thread per request, as `runserver` has) on 127.0.0.1, port 0.
Once it listens, one JSON line goes to stdout: {"port", "django", "python"}. A missing Django
gives {"error": ...} and exit status 3.

The routes are the script's, with the same behaviour as its Node handlers:

    GET /new                 session["init"] = 1
    GET /set?k=&v=&d=        read the session (409 unless init == 1), wait d ms (0-100), set k=v
    GET /dump                the scenario's keys present in the session, as JSON

SessionMiddleware writes the session and its cookie (sessionid, Max-Age) after the view. The
process exits when its stdin closes (the Node script is gone), or on SIGTERM.
"""

import json
import os
import platform
import re
import socketserver
import sys
import threading
import time

HOST = "127.0.0.1"
PARALLEL = 20
KEYS = ["init", "x"] + ["k%d" % i for i in range(PARALLEL)]
NAMES = re.compile(r"^(k\d{1,2}|x)$")
ENGINES = {
    "db": "django.contrib.sessions.backends.db",
    "signed_cookies": "django.contrib.sessions.backends.signed_cookies",
}


def say(document):
    sys.stdout.write(json.dumps(document) + "\n")
    sys.stdout.flush()


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ENGINES:
        sys.stderr.write("usage: django_lost_updates.py db|signed_cookies DIR\n")
        return 2
    engine, folder = sys.argv[1], sys.argv[2]

    try:
        import django
        from django.conf import settings
    except ImportError as error:
        say({"error": "%s cannot import Django (%s)" % (sys.executable, error)})
        return 3

    settings.configure(
        DEBUG=False,
        SECRET_KEY=os.environ["LOST_UPDATES_SECRET"],
        ALLOWED_HOSTS=[HOST],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.sessions"],
        MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware"],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": os.path.join(folder, "django.sqlite3"),
            }
        },
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        SESSION_ENGINE=ENGINES[engine],
        SESSION_COOKIE_AGE=int(os.environ["LOST_UPDATES_MAX_AGE"]),
        USE_TZ=True,
        LOGGING_CONFIG=None,
    )
    django.setup()

    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from django.http import HttpResponse, JsonResponse
    from django.urls import path

    call_command("migrate", "sessions", verbosity=0, interactive=False)

    def text(body, status=200):
        return HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")

    def new(request):
        request.session["init"] = 1
        return text("ok")

    def set_key(request):
        k = request.GET.get("k", "")
        v = request.GET.get("v")
        try:
            d = float(request.GET.get("d", "0"))
        except ValueError:
            d = 0
        d = min(max(d if d == d else 0, 0), 100)
        if request.session.get("init") != 1:  # reads (loads) the session
            return text("no session", 409)
        time.sleep(d / 1000)
        if NAMES.match(k):
            request.session[k] = v
        return text("ok")

    def dump(request):
        found = {}
        for key in KEYS:
            value = request.session.get(key)
            if value is not None:
                found[key] = value
        return JsonResponse(found)

    global urlpatterns
    urlpatterns = [path("new", new), path("set", set_key), path("dump", dump)]

    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

    class Server(socketserver.ThreadingMixIn, WSGIServer):
        daemon_threads = True
        request_queue_size = 128  # 20 connections at once: socketserver's default backlog is 5

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = Server((HOST, 0), Quiet)
    server.set_app(get_wsgi_application())

    def watch_stdin():
        # The Node script holds our stdin: EOF means it is gone, however it ended.
        try:
            while sys.stdin.buffer.read(4096):
                pass
        finally:
            os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    say(
        {
            "port": server.server_address[1],
            "django": django.get_version(),
            "python": platform.python_version(),
        }
    )
    server.serve_forever()
    return 0


urlpatterns = []

if __name__ == "__main__":
    sys.exit(main())
