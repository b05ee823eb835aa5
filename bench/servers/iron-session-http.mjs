// iron-session (stateless: the session is sealed - encrypted and signed - into the cookie)
// on bare node:http. R unseals; W and N unseal/seal and send a new Set-Cookie.
import http from 'node:http';
import { getIronSession } from 'iron-session';
import { HOST, MAX_AGE_S, NO_SESSION, onStop, PORT, ready, SECRET } from './_common.mjs';

const options = {
  cookieName: 'iron',
  password: SECRET,
  ttl: MAX_AGE_S,
  cookieOptions: { secure: false }, // plain HTTP on loopback; no effect on the work done
};

function send(res, status, body) {
  res.statusCode = status;
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.end(body);
}

const server = http.createServer(async (req, res) => {
  try {
    const url = req.url;
    if (url === '/health') return send(res, 200, 'ok');
    if (url !== '/read' && url !== '/write' && url !== '/new') return send(res, 404, 'not found');
    const session = await getIronSession(req, res, options);
    if (url === '/new') {
      session.count = 0;
      await session.save();
      return send(res, 200, 'count=0');
    }
    if (typeof session.count !== 'number') return send(res, 409, NO_SESSION);
    if (url === '/write') {
      session.count += 1;
      await session.save();
    }
    return send(res, 200, `count=${session.count}`);
  } catch (err) {
    console.error(err);
    if (!res.headersSent) send(res, 500, 'error');
  }
});
server.listen(PORT, HOST, () => ready('iron-session-http'));
onStop(() => new Promise((r) => server.close(r)));
