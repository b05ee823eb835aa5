// keepstate on node:http around a handler that never touches the session: what the adapter alone
// costs. GET /store-calls answers how many store calls were made (the runner expects 0).
import http from 'node:http';
import { HOST, onStop, PORT, ready } from './_common.mjs';
import { closeServer, keepstate, manager, send } from './_keepstate.mjs';

const { MemoryStore } = await keepstate();
const { withSession } = await keepstate('adapters/node-http.js');

let calls = 0;
const store = new MemoryStore();
for (const method of ['load', 'create', 'save', 'delete', 'exists', 'clearExpired']) {
  const original = store[method].bind(store);
  store[method] = (...args) => {
    calls++;
    return original(...args);
  };
}
const app = withSession(manager(store), (_req, res) => send(res, 200, 'count=0'));
const server = http.createServer((req, res) => {
  if (req.url === '/health') send(res, 200, 'ok');
  else if (req.url === '/store-calls') send(res, 200, String(calls));
  else app(req, res);
});
server.listen(PORT, HOST, () => ready('ks-untouched-http'));
onStop(() => closeServer(server));
