// keepstate on node:http with its MemoryStore (JSON text in a bounded Map).
import { onStop } from './_common.mjs';
import { closeServer, keepstate, serveHttp } from './_keepstate.mjs';

const { MemoryStore } = await keepstate();
const server = await serveHttp('ks-memory-http', new MemoryStore());
onStop(() => closeServer(server));
