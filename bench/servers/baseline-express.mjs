// Bare Express 5: routing + res.send (ETag, Content-Type), no session.
import express from 'express';
import { HOST, onStop, PORT, ready } from './_common.mjs';

const app = express();
const handler = (_req, res) => {
  res.type('text/plain').send('count=0');
};
app.get('/health', handler);
app.get('/read', handler);
app.get('/write', handler);
app.get('/new', handler);
const server = app.listen(PORT, HOST, () => ready('baseline-express'));
onStop(() => new Promise((r) => server.close(r)));
