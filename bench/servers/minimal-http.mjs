// Hand-rolled floor for a store-backed session on node:http, in a few lines: a random id,
// signed with HMAC-SHA256, in a cookie; the data JSON-serialized in a Map (as a real store
// would serialize it). No expiry, no pruning, no rotation: it shows what the unavoidable work
// costs, not a usable library.
// It is also the template for a new scenario: copy it, replace the session code with the
// library under test, keep the routes and status codes, and add a line to scenarios.mjs.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { HOST, MAX_AGE_S, NO_SESSION, onStop, PORT, ready, SECRET } from './_common.mjs';

const COOKIE = 'sid';
const store = new Map(); // session id -> JSON string

const mac = (id) => createHmac('sha256', SECRET).update(id).digest('base64url');

function unsign(value) {
  const dot = value.lastIndexOf('.');
  if (dot <= 0) return null;
  const id = value.slice(0, dot);
  const given = Buffer.from(value.slice(dot + 1));
  const expected = Buffer.from(mac(id));
  return given.length === expected.length && timingSafeEqual(given, expected) ? id : null;
}

function cookieValue(header, name) {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

function load(req) {
  const raw = cookieValue(req.headers.cookie, COOKIE);
  const id = raw && unsign(raw);
  const json = id && store.get(id);
  return json ? { id, data: JSON.parse(json) } : null;
}

function save(res, id, data) {
  store.set(id, JSON.stringify(data));
  res.setHeader(
    'set-cookie',
    `${COOKIE}=${id}.${mac(id)}; Max-Age=${MAX_AGE_S}; Path=/; HttpOnly; SameSite=Lax`,
  );
}

function send(res, status, body) {
  res.statusCode = status;
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.end(body);
}

const server = http.createServer((req, res) => {
  switch (req.url) {
    case '/health':
      return send(res, 200, 'ok');
    case '/new': {
      save(res, randomBytes(18).toString('base64url'), { count: 0 });
      return send(res, 200, 'count=0');
    }
    case '/read': {
      const s = load(req);
      if (!s || typeof s.data.count !== 'number') return send(res, 409, NO_SESSION);
      return send(res, 200, `count=${s.data.count}`);
    }
    case '/write': {
      const s = load(req);
      if (!s || typeof s.data.count !== 'number') return send(res, 409, NO_SESSION);
      s.data.count += 1;
      save(res, s.id, s.data);
      return send(res, 200, `count=${s.data.count}`);
    }
    default:
      return send(res, 404, 'not found');
  }
});
server.listen(PORT, HOST, () => ready('minimal-http'));
onStop(() => new Promise((r) => server.close(r)));
