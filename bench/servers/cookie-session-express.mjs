// cookie-session on Express 5: the session is JSON in a base64 cookie plus an HMAC
// signature cookie (`session` and `session.sig`); not encrypted. R verifies and parses;
// W and N re-serialize and sign, sending two Set-Cookie headers.

import cookieSession from 'cookie-session';
import express from 'express';
import { HOST, MAX_AGE_MS, NO_SESSION, onStop, PORT, ready, SECRET } from './_common.mjs';

const app = express();
app.get('/health', (_req, res) => {
  res.type('text/plain').send('ok');
});
app.use(cookieSession({ name: 'session', keys: [SECRET], maxAge: MAX_AGE_MS }));
app.get('/read', (req, res) => {
  const n = req.session.count;
  if (typeof n !== 'number') {
    res.status(409).type('text/plain').send(NO_SESSION);
    return;
  }
  res.type('text/plain').send(`count=${n}`);
});
app.get('/write', (req, res) => {
  if (typeof req.session.count !== 'number') {
    res.status(409).type('text/plain').send(NO_SESSION);
    return;
  }
  req.session.count += 1;
  res.type('text/plain').send(`count=${req.session.count}`);
});
app.get('/new', (req, res) => {
  req.session.count = 0;
  res.type('text/plain').send('count=0');
});
const server = app.listen(PORT, HOST, () => ready('cookie-session-express'));
onStop(() => new Promise((r) => server.close(r)));
