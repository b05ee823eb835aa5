// keepstate on node:http with its SignedCookieStore: the session is Django's signed_cookies value.
import { onStop } from './_common.mjs';
import { closeServer, keepstate, serveHttp } from './_keepstate.mjs';

const { SignedCookieStore } = await keepstate();
const server = await serveHttp('ks-cookie-http', new SignedCookieStore());
onStop(() => closeServer(server));
