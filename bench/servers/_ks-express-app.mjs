// The Express 5 app of the keepstate Express scenarios (keepstate/express); only the store differs.
import express from 'express';
import { keepstate, manager, route } from './_keepstate.mjs';

const { sessionMiddleware } = await keepstate('adapters/express.js');

export function ksExpressApp(store) {
  const app = express();
  app.get('/health', (_req, res) => {
    res.type('text/plain').send('ok');
  });
  app.use(sessionMiddleware(manager(store)));
  const handler = (req, res) =>
    route(req.path, req.session, (status, body) => {
      res.status(status).type('text/plain').send(body);
    });
  app.get('/read', handler);
  app.get('/write', handler);
  app.get('/new', handler);
  return app;
}
