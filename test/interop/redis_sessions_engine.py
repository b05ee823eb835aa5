"""django-redis-sessions' SessionStore, as a SESSION_ENGINE for the peer.

django-redis-sessions (SESSION_ENGINE = "redis_sessions.session") is not on
the package indexes the tests can reach, so this module repeats what its
released SessionStore does with a standalone Redis, the part keepstate's
RedisStore shares:

- the key is the session key, or SESSION_REDIS["prefix"] + ":" + the key;
- the value is SessionBase.encode(data), Django's own session encoding;
- save() is SETEX key get_expiry_age() value, so Redis expires the session;
- load() is GET and decode; a missing key (or bad data) is an empty session
  with no key; exists() is EXISTS; delete() is DEL; clear_expired() does
  nothing.

See https://github.com/martinrusev/django-redis-sessions (redis_sessions/
session.py and settings.py). Sentinel, pools and Unix sockets are left out.
"""

import redis
from django.conf import settings
from django.contrib.sessions.backends.base import CreateError, SessionBase

_servers = {}


def server():
    """One client per process and server, as RedisServer.get() keeps them."""
    options = settings.SESSION_REDIS
    address = (options["host"], options["port"], options["db"])
    if address not in _servers:
        _servers[address] = redis.StrictRedis(
            host=options["host"],
            port=options["port"],
            db=options["db"],
            socket_timeout=5,
        )
    return _servers[address]


def real_key(session_key):
    """django-redis-sessions' get_real_stored_key."""
    prefix = settings.SESSION_REDIS.get("prefix", "")
    session_key = "" if session_key is None else str(session_key)
    if not prefix:
        return session_key
    return ":".join([prefix, session_key])


class SessionStore(SessionBase):
    def __init__(self, session_key=None):
        super().__init__(session_key)
        self.server = server()

    def load(self):
        try:
            session_data = self.server.get(real_key(self._get_or_create_session_key()))
            if session_data is None:
                raise ValueError("session key does not exist")
            return self.decode(session_data.decode("utf-8"))
        except Exception:
            self._session_key = None
            return {}

    def exists(self, session_key):
        return bool(self.server.exists(real_key(session_key)))

    def create(self):
        while True:
            self._session_key = self._get_new_session_key()
            try:
                self.save(must_create=True)
            except CreateError:
                continue
            self.modified = True
            return

    def save(self, must_create=False):
        if self.session_key is None:
            return self.create()
        if must_create and self.exists(self._get_or_create_session_key()):
            raise CreateError
        data = self.encode(self._get_session(no_load=must_create))
        self.server.setex(
            real_key(self._get_or_create_session_key()), self.get_expiry_age(), data
        )

    def delete(self, session_key=None):
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        try:
            self.server.delete(real_key(session_key))
        except Exception:
            pass

    @classmethod
    def clear_expired(cls):
        pass
