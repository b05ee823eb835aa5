// The Express app shared by the express-session scenarios; only the store differs.
import express from 'express';
import session from 'express-session';
import { MAX_AGE_MS, NO_SESSION, SECRET } from './_common.mjs';

export function expressSessionApp(store /* undefined = express-session's MemoryStore */) {
  const app = express();
  app.get('/health', (_req, res) => {
    res.type('text/plain').send('ok');
  });
  app.use(
    session({
      secret: SECRET,
      store,
      resave: false, // the documented recommendation; R does not rewrite the session
      saveUninitialized: false, // no empty sessions; N saves because the handler sets a value
      cookie: { maxAge: MAX_AGE_MS },
    }),
  );
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
  return app;
}
