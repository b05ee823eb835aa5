// Physical limit: bare node:http, no cookie parsing, no session.
import http from 'node:http';
import { HOST, onStop, PORT, ready } from './_common.mjs';

const BODY = 'count=0';
const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(BODY);
});
server.listen(PORT, HOST, () => ready('baseline-http'));
onStop(() => new Promise((r) => server.close(r)));
