import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { access, constants, copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { type Demo, startDemo } from '../../examples/demo/start-demo.js';
import { EXPIRY_CHOICES, GUEST, KEY_PREFIX_LENGTH } from '../../examples/demo/views.js';
import { needService } from '../support/services.js';

const CHROMIUM = '/usr/bin/chromium';
const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
/** Every Playwright wait (navigation, locator, event) gives up after this many milliseconds. */
const WAIT_MS = 10_000;
const TEST = { timeout: 60_000 };
const SECRET = randomBytes(32).toString('base64url');
const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));
const FIREFOX_ON_WINDOWS =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:126.0) Gecko/20100101 Firefox/126.0';
const SAFARI_ON_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const README_SCREENSHOT = fileURLToPath(new URL('../../docs/demo.png', import.meta.url));

/** A demo on a fresh SQLite file in its own temporary folder. */
interface Running {
  readonly demo: Demo;
  readonly folder: string;
  readonly database: string;
}

async function startFresh(testHooks: boolean): Promise<Running> {
  const folder = await mkdtemp(join(tmpdir(), 'keepstate-demo-'));
  const database = join(folder, 'sessions.sqlite3');
  const demo = await startDemo({ port: 0, store: `sqlite:${database}`, secret: SECRET, testHooks });
  return { demo, folder, database };
}

async function stop(running: Running | undefined): Promise<void> {
  if (running === undefined) return;
  await running.demo.close();
  await rm(running.folder, { recursive: true, force: true });
}

/** Whether the demo's database still holds a row for `sessionKey`, expired or not. */
function stored(running: Running, sessionKey: string): boolean {
  const db = new Database(running.database, { readonly: true });
  try {
    return (
      db.prepare('SELECT 1 FROM django_session WHERE session_key = ?').get(sessionKey) !== undefined
    );
  } finally {
    db.close();
  }
}

const skip = await needService(
  `Chromium at ${CHROMIUM}`,
  () => access(CHROMIUM, constants.X_OK),
  'install it with apt-get install -y chromium',
);

describe('the demo in Chromium', { skip }, () => {
  let browser: Browser | undefined;
  let running: Running | undefined;
  const contexts: BrowserContext[] = [];

  before(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: LAUNCH_ARGS,
      timeout: 30_000,
    });
  });
  after(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    running = await startFresh(true);
  });
  afterEach(async () => {
    for (const context of contexts.splice(0)) await context.close();
    await stop(running);
    running = undefined;
  });

  function demoUrl(path = '/'): string {
    assert.ok(running);
    return new URL(path, running.demo.url).href;
  }

  /**
   * A fresh browser context (its own cookie jar, as another browser would have), sending
   * `userAgent` when given.
   */
  async function newContext(userAgent?: string): Promise<BrowserContext> {
    assert.ok(browser);
    const context = await browser.newContext({
      baseURL: demoUrl(),
      viewport: { width: 800, height: 600 },
      ...(userAgent !== undefined && { userAgent }),
    });
    context.setDefaultTimeout(WAIT_MS);
    context.setDefaultNavigationTimeout(WAIT_MS);
    contexts.push(context);
    return context;
  }

  async function newPage(): Promise<Page> {
    return (await newContext()).newPage();
  }

  async function heading(page: Page): Promise<string> {
    return (await page.locator('h1').textContent()) ?? '';
  }

  async function text(page: Page, selector: string): Promise<string> {
    return (await page.locator(selector).textContent()) ?? '';
  }

  /** Clicks a submit button and waits for the page the POST redirects to to load. */
  async function submit(page: Page, button: string): Promise<void> {
    await Promise.all([
      page.waitForEvent('load'),
      page.getByRole('button', { name: button, exact: true }).click(),
    ]);
  }

  async function logIn(page: Page, name: string, expiry: string = EXPIRY_CHOICES.default.label) {
    await page.goto('/login');
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByLabel(expiry, { exact: true }).check();
    await submit(page, 'Log in');
    assert.equal(page.url(), demoUrl('/'));
  }

  async function sessionCookie(context: BrowserContext) {
    return (await context.cookies()).find((cookie) => cookie.name === 'sessionid');
  }

  /** Moves the demo's clock (and so its store's) forward, instead of sleeping. */
  async function advance(seconds: number): Promise<void> {
    const response = await fetch(demoUrl(`/__test__/advance?seconds=${seconds}`), {
      method: 'POST',
      signal: AbortSignal.timeout(WAIT_MS),
    });
    assert.equal(response.status, 200);
  }

  test(
    'log in, see the name, keep it across a reload, log out and be a guest again',
    TEST,
    async () => {
      const page = await newPage();
      await page.goto('/');
      assert.equal(await heading(page), `Hello, ${GUEST}`);
      await logIn(page, 'Ada Lovelace');
      assert.equal(await heading(page), 'Hello, Ada Lovelace');
      await page.reload();
      assert.equal(await heading(page), 'Hello, Ada Lovelace');
      assert.match(await text(page, 'main'), /seen this page 2 times/);

      await mkdir(ARTIFACTS, { recursive: true });
      const screenshot = join(ARTIFACTS, 'logged-in.png');
      // Cropped below the content, so the README image has no blank half.
      const main = await page.locator('main').boundingBox();
      const height = Math.min(600, Math.ceil((main?.y ?? 0) + (main?.height ?? 600) + 16));
      await page.screenshot({ path: screenshot, clip: { x: 0, y: 0, width: 800, height } });
      // Written once, for the README; delete docs/demo.png to refresh it.
      if (!existsSync(README_SCREENSHOT)) await copyFile(screenshot, README_SCREENSHOT);

      await submit(page, 'Log out');
      assert.equal(page.url(), demoUrl('/'));
      assert.equal(await heading(page), `Hello, ${GUEST}`);
      assert.equal(await sessionCookie(page.context()), undefined);
    },
  );

  test('the session cookie is HttpOnly and SameSite=Lax; a plain cookie is not', TEST, async () => {
    const page = await newPage();
    await logIn(page, 'Grace');
    await page.goto('/cookies');
    await page.locator('#plain').fill('vanilla');
    await submit(page, 'Set the cookie');
    const visible = String(await page.evaluate('document.cookie'));
    assert.match(visible, /flavour=vanilla/);
    assert.doesNotMatch(visible, /sessionid/);
    const cookie = await sessionCookie(page.context());
    assert.ok(cookie);
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Lax');
    assert.equal(cookie.path, '/');
  });

  test('a plain cookie is set, read back and deleted', TEST, async () => {
    const page = await newPage();
    await page.goto('/cookies');
    assert.equal(await text(page, '#plain-result'), 'No flavour cookie was sent.');
    await page.locator('#plain').fill('巧克力 & <mint>');
    await submit(page, 'Set the cookie');
    assert.equal(await text(page, '#plain-result'), 'The browser sent flavour: 巧克力 & <mint>');
    await submit(page, 'Delete the cookie');
    assert.equal(await text(page, '#plain-result'), 'No flavour cookie was sent.');
    const names = (await page.context().cookies()).map((cookie) => cookie.name);
    assert.ok(!names.includes('flavour'));
  });

  test('a browser-close session is gone after a restart; a 5-day one is not', TEST, async () => {
    for (const [expiry, survives] of [
      [EXPIRY_CHOICES.browser.label, false],
      [EXPIRY_CHOICES.days.label, true],
    ] as const) {
      const page = await newPage();
      await logIn(page, 'Hedy', expiry);
      const cookies = await page.context().cookies();
      const cookie = cookies.find((c) => c.name === 'sessionid');
      assert.ok(cookie);
      if (survives) {
        assert.ok(Math.abs(cookie.expires - (Date.now() / 1000 + 5 * 86_400)) < 60, expiry);
      } else {
        assert.equal(cookie.expires, -1, 'no Max-Age: a session cookie');
      }
      // A restarted browser keeps only the cookies that have an expiry.
      const restarted = await newContext();
      await restarted.addCookies(cookies.filter((c) => c.expires !== -1));
      const after = await restarted.newPage();
      await after.goto('/');
      assert.equal(await heading(after), survives ? 'Hello, Hedy' : `Hello, ${GUEST}`, expiry);
    }
  });

  test('a 10-second session lasts while used and is gone after 10 idle seconds', TEST, async () => {
    const page = await newPage();
    await logIn(page, 'Ida', EXPIRY_CHOICES.idle.label);
    await advance(9);
    await page.reload();
    assert.equal(await heading(page), 'Hello, Ida');
    // 18 seconds after logging in, but only 9 since the last visit saved the session.
    await advance(9);
    await page.reload();
    assert.equal(await heading(page), 'Hello, Ida');
    await advance(11);
    await page.reload();
    assert.equal(await heading(page), `Hello, ${GUEST}`);
  });

  test('two browsers never see each other’s name', TEST, async () => {
    const alice = await newPage();
    const bob = await newPage();
    await logIn(alice, 'Alice');
    await logIn(bob, 'Bob');
    await alice.reload();
    await bob.reload();
    assert.equal(await heading(alice), 'Hello, Alice');
    assert.equal(await heading(bob), 'Hello, Bob');
    const [a, b] = [await sessionCookie(alice.context()), await sessionCookie(bob.context())];
    assert.ok(a && b);
    assert.notEqual(a.value, b.value);
    await submit(alice, 'Log out');
    await bob.reload();
    assert.equal(await heading(bob), 'Hello, Bob');
  });

  test('the name is HTML-escaped: markup shows as text', TEST, async () => {
    const page = await newPage();
    let dialogs = 0;
    page.on('dialog', (dialog) => {
      dialogs++;
      void dialog.dismiss();
    });
    const name = '<script>alert(1)</script><b>bold</b> & "quoted"';
    await logIn(page, name);
    assert.equal(await heading(page), `Hello, ${name}`);
    assert.equal(await page.locator('script, h1 b').count(), 0);
    await page.goto('/sessions');
    assert.match(await text(page, 'ul.records'), /<script>alert\(1\)<\/script><b>bold<\/b>/);
    assert.equal(await page.locator('script, main b').count(), 0);
    assert.equal(dialogs, 0);
  });

  test('a tampered signed cookie is refused', TEST, async () => {
    const page = await newPage();
    await page.goto('/cookies');
    assert.equal(await text(page, '#signed-result'), 'No greeting cookie was sent.');
    await page.locator('#signed').fill('hello, world');
    await submit(page, 'Sign and set');
    assert.equal(await text(page, '#signed-result'), 'Verified: hello, world');
    const signed = (await page.context().cookies()).find((c) => c.name === 'greeting');
    assert.ok(signed);
    const [value, ...signature] = signed.value.split(':');
    assert.equal(value, 'hello%2C%20world');
    assert.equal(signature.length, 2, 'timestamp and signature');

    await submit(page, 'Tamper with it');
    assert.match(await text(page, '#signed-result'), /^Refused: the signature does not match/);
    const tampered = (await page.context().cookies()).find((c) => c.name === 'greeting');
    assert.equal(tampered?.value, ['admin', ...signature].join(':'));
  });

  test(
    'the sessions page lists live sessions; clearExpired removes an expired one',
    TEST,
    async () => {
      assert.ok(running);
      const dee = await newPage();
      const eve = await newPage();
      await logIn(dee, 'Dee');
      await logIn(eve, 'Eve', EXPIRY_CHOICES.idle.label);
      const deeKey = (await sessionCookie(dee.context()))?.value ?? '';
      const eveKey = (await sessionCookie(eve.context()))?.value ?? '';

      await dee.goto('/sessions');
      const items = dee.locator('ul.records li');
      assert.equal(await items.count(), 2);
      const mine = (await items.filter({ hasText: '(yours)' }).textContent()) ?? '';
      assert.ok(mine.startsWith(`${deeKey.slice(0, KEY_PREFIX_LENGTH)}…`), mine);
      assert.match(mine, /"name": "Dee"/);
      const page = await dee.content();
      assert.ok(!page.includes(deeKey) && !page.includes(eveKey), 'never a whole session key');

      await advance(11);
      await dee.reload();
      assert.equal(await items.count(), 1, "Eve's expired session is not listed");
      assert.ok(stored(running, eveKey), '...but still stored');
      await submit(dee, 'Clear expired sessions');
      assert.equal(await text(dee, '[role=status]'), 'clearExpired() removed 1 expired session.');
      assert.ok(!stored(running, eveKey));
      assert.ok(stored(running, deeKey));
    },
  );

  test(
    'the devices page lists a user’s sessions and signs the other devices out',
    TEST,
    async () => {
      const laptop = await (await newContext(FIREFOX_ON_WINDOWS)).newPage();
      const phone = await (await newContext(SAFARI_ON_IPHONE)).newPage();
      const stranger = await newPage();
      await logIn(laptop, 'Ada');
      await advance(60);
      await logIn(phone, 'Ada');
      await logIn(stranger, 'Bob');

      await laptop.getByRole('link', { name: 'Your devices' }).click();
      assert.equal(laptop.url(), demoUrl('/devices'));
      assert.equal(await heading(laptop), 'Your devices');
      const devices = laptop.locator('ul.records li');
      assert.equal(await devices.count(), 2, "Bob's session is not Ada's");
      // Most recently active first: the phone logged in a minute after the laptop.
      const [newest, oldest] = await devices.allTextContents();
      assert.match(newest ?? '', /^Safari 17 on iOS\n/);
      assert.doesNotMatch(newest ?? '', /This device/);
      assert.match(oldest ?? '', /^Firefox 126 on Windows This device\n/);
      assert.match(oldest ?? '', /Signed in \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
      assert.equal(
        await devices.locator('strong').first().getAttribute('title'),
        SAFARI_ON_IPHONE,
        'the whole User-Agent on hover',
      );
      const page = await laptop.content();
      for (const context of [laptop.context(), phone.context()]) {
        const key = (await sessionCookie(context))?.value ?? '';
        assert.ok(key !== '' && !page.includes(key), 'never a session key');
      }

      await submit(laptop, 'Sign out other devices');
      assert.equal(laptop.url(), demoUrl('/devices'));
      assert.equal(await text(laptop, '[role=status]'), 'Signed out 1 other device.');
      assert.equal(await devices.count(), 1);
      assert.match((await devices.textContent()) ?? '', /^Firefox 126 on Windows This device/);
      assert.equal(await laptop.getByRole('button', { name: 'Sign out other devices' }).count(), 0);
      await laptop.reload();
      assert.equal(await laptop.locator('[role=status]').count(), 0, 'the message is shown once');

      await phone.reload();
      assert.equal(await heading(phone), `Hello, ${GUEST}`, 'the phone is logged out');
      await stranger.reload();
      assert.equal(await heading(stranger), 'Hello, Bob', 'another user is untouched');
      await laptop.goto('/');
      assert.equal(await heading(laptop), 'Hello, Ada', 'this device stays logged in');

      // Django's login_required: to the login page, and back to the devices page after it.
      await phone.goto('/devices');
      assert.equal(phone.url(), demoUrl('/login?next=%2Fdevices'));
      await phone.getByLabel('Name', { exact: true }).fill('Ada');
      await submit(phone, 'Log in');
      assert.equal(phone.url(), demoUrl('/devices'));
      assert.equal(await phone.locator('ul.records li').count(), 2);
      assert.match(
        (await phone.locator('ul.records li', { hasText: 'This device' }).textContent()) ?? '',
        /^Safari 17 on iOS/,
      );
    },
  );
});

describe('the demo over plain HTTP', () => {
  let running: Running | undefined;
  before(async () => {
    running = await startFresh(false);
  });
  after(() => stop(running));

  function get(path: string, cookie = '') {
    assert.ok(running);
    return fetch(new URL(path, running.demo.url), {
      headers: cookie === '' ? {} : { cookie },
      redirect: 'manual',
      signal: AbortSignal.timeout(WAIT_MS),
    });
  }

  function post(path: string, form: Record<string, string>, cookie = '') {
    assert.ok(running);
    return fetch(new URL(path, running.demo.url), {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
      redirect: 'manual',
      signal: AbortSignal.timeout(WAIT_MS),
    });
  }

  test('a guest reading the home page gets no session', async () => {
    const response = await get('/');
    assert.equal(response.status, 200);
    assert.deepEqual(response.headers.getSetCookie(), []);
    assert.match(await response.text(), /Hello, 游客/);
  });

  test('the clock hook does not exist without test hooks', async () => {
    const response = await post('/__test__/advance?seconds=60', {});
    assert.equal(response.status, 404);
  });

  test("a POST without the session's CSRF token is refused and changes nothing", async () => {
    const form = await get('/login');
    const cookie = form.headers.getSetCookie()[0]?.split(';')[0] ?? '';
    const token = /name="csrfToken" value="([^"]+)"/.exec(await form.text())?.[1] ?? '';
    assert.match(cookie, /^sessionid=/);
    assert.notEqual(token, '');

    for (const forged of [{}, { csrfToken: 'x'.repeat(token.length) }]) {
      const refused = await post(
        '/login',
        { ...forged, name: 'Mallory', expiry: 'default' },
        cookie,
      );
      assert.equal(refused.status, 403);
      assert.deepEqual(refused.headers.getSetCookie(), []);
    }
    assert.match(await (await get('/', cookie)).text(), /Hello, 游客/);

    const accepted = await post(
      '/login',
      { csrfToken: token, name: 'Alice', expiry: 'default' },
      cookie,
    );
    assert.equal(accepted.status, 303);
    const cycled = accepted.headers.getSetCookie()[0]?.split(';')[0] ?? '';
    assert.notEqual(cycled, cookie, 'logging in moves the session to a new key');
    assert.match(await (await get('/', cycled)).text(), /Hello, Alice/);
    assert.match(await (await get('/', cookie)).text(), /Hello, 游客/);
  });

  /** Logs `name` in from a fresh session: its cookie, and the CSRF token of its forms. */
  async function logIn(name: string): Promise<{ cookie: string; token: string }> {
    const form = await get('/login');
    const fresh = form.headers.getSetCookie()[0]?.split(';')[0] ?? '';
    const token = /name="csrfToken" value="([^"]+)"/.exec(await form.text())?.[1] ?? '';
    const response = await post('/login', { csrfToken: token, name, expiry: 'default' }, fresh);
    assert.equal(response.status, 303);
    const cookie = response.headers.getSetCookie()[0]?.split(';')[0] ?? '';
    // Logging in made a new token: the home page's log-out form carries it.
    const home = await get('/', cookie);
    const cycled = /name="csrfToken" value="([^"]+)"/.exec(await home.text())?.[1] ?? '';
    assert.notEqual(cycled, '');
    return { cookie, token: cycled };
  }

  test('signing out the other devices takes a logged-in user and the CSRF token', async () => {
    const guest = await get('/devices');
    assert.equal(guest.status, 303);
    assert.equal(guest.headers.get('location'), '/login?next=%2Fdevices');

    const here = await logIn('Trent');
    const there = await logIn('Trent');
    for (const forged of [{}, { csrfToken: 'x'.repeat(here.token.length) }]) {
      const refused = await post('/devices/sign-out-others', forged, here.cookie);
      assert.equal(refused.status, 403);
    }
    assert.match(await (await get('/', there.cookie)).text(), /Hello, Trent/);

    const accepted = await post('/devices/sign-out-others', { csrfToken: here.token }, here.cookie);
    assert.equal(accepted.status, 303);
    assert.equal(accepted.headers.get('location'), '/devices');
    assert.match(await (await get('/devices', here.cookie)).text(), /Signed out 1 other device\./);
    assert.match(await (await get('/', there.cookie)).text(), /Hello, 游客/);
  });

  test('the login page sends a visitor on only to one of the demo’s own pages', async () => {
    for (const next of ['https://evil.example/', '//evil.example/', '/nowhere', '/login']) {
      const page = await (await get(`/login?next=${encodeURIComponent(next)}`)).text();
      assert.doesNotMatch(page, /name="next"/, next);
    }
    const form = await get('/login');
    const cookie = form.headers.getSetCookie()[0]?.split(';')[0] ?? '';
    const token = /name="csrfToken" value="([^"]+)"/.exec(await form.text())?.[1] ?? '';
    const response = await post(
      '/login',
      { csrfToken: token, name: 'Mallory', expiry: 'default', next: '//evil.example/' },
      cookie,
    );
    assert.equal(response.status, 303);
    assert.equal(response.headers.get('location'), '/');
  });
});
