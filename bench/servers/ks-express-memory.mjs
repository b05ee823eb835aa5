// keepstate's Express middleware with its MemoryStore.
import { HOST, onStop, PORT, ready } from './_common.mjs';
import { keepstate } from './_keepstate.mjs';
import { ksExpressApp } from './_ks-express-app.mjs';

const { MemoryStore } = await keepstate();
const server = ksExpressApp(new MemoryStore()).listen(PORT, HOST, () => ready('ks-express-memory'));
onStop(() => new Promise((r) => server.close(r)));
