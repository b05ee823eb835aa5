// express-session with its default MemoryStore (the store most tutorials start with).
import { HOST, onStop, PORT, ready } from './_common.mjs';
import { expressSessionApp } from './_express-session-app.mjs';

const server = expressSessionApp(undefined).listen(PORT, HOST, () =>
  ready('express-session-memory'),
);
onStop(() => new Promise((r) => server.close(r)));
