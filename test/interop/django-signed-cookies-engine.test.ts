/**
 * Django's `signed_cookies` engine and keepstate's `SignedCookieStore`: the cookie is the
 * session, so the round trips of `engine-round-trips.ts` pass the cookie value from one side to
 * the other, for Django 5.2 and 3.2 (whose engine salt is the same).
 */

import { SignedCookieStore } from '../../src/stores/signed-cookie-store.js';
import { findDjango } from '../support/django.js';
import { engineRoundTrips } from './engine-round-trips.js';
import { tamper } from './values.js';

for (const release of ['5.2', '3.2'] as const) {
  engineRoundTrips(
    {
      engine: 'signed_cookies',
      title: 'the signed_cookies engine',
      settings: {},
      store: () => new SignedCookieStore(),
      tamper: async (value) => tamper(value),
      cleanup: async () => {},
    },
    release,
    await findDjango(release),
  );
}
