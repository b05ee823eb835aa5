import type { SessionRecord, UserSession } from '../../src/core/session-store.js';

/** Markup that is already safe: {@link html} inserts it as it is instead of escaping it. */
export class SafeHtml {
  /** The markup. */
  readonly text: string;

  constructor(text: string) {
    this.text = text;
  }

  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#x27;',
};

/** Escapes text for an HTML element or a quoted attribute, as Django's `escape` filter does. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char);
}

/**
 * A template tag that escapes every interpolated value unless it is {@link SafeHtml}, as Django
 * templates autoescape: forgetting to escape is then impossible, and trusting markup is explicit.
 * Arrays are joined, and `null`, `undefined` and `false` insert nothing.
 *
 * @example
 * html`<h1>Hello, ${name}</h1>`; // name = '<b>' gives <h1>Hello, &lt;b&gt;</h1>
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let text = strings[0] ?? '';
  values.forEach((value, index) => {
    text += insert(value) + (strings[index + 1] ?? '');
  });
  return new SafeHtml(text);
}

function insert(value: unknown): string {
  if (value instanceof SafeHtml) return value.text;
  if (Array.isArray(value)) return value.map(insert).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

/** The name the home page greets a visitor with when the session holds none ("guest"). */
export const GUEST = '游客';

/** The expiry choices of the login form, as `Session.setExpiry` takes them. */
export const EXPIRY_CHOICES = {
  idle: { label: '10 seconds of inactivity', expiry: 10 },
  days: { label: '5 days', expiry: 5 * 86_400 },
  browser: { label: 'Until the browser closes', expiry: 0 },
  default: { label: 'The default policy (two weeks)', expiry: null },
} as const;

/** A key of {@link EXPIRY_CHOICES}. */
export type ExpiryChoice = keyof typeof EXPIRY_CHOICES;

/** The stylesheet every page links to, served at `/style.css`. */
export const STYLESHEET = `:root { color-scheme: light dark; --accent: #0c4b33; --muted: #6b6b6b; }
* { box-sizing: border-box; }
body { margin: 0; font: 1rem/1.5 system-ui, sans-serif; }
header { background: var(--accent); color: #fff; }
header nav, main { max-width: 40rem; margin: 0 auto; padding: 0.75rem 1rem; }
header nav { display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; align-items: baseline; }
header a { color: #fff; }
header strong { margin-right: auto; }
h1 { font-size: 1.6rem; margin: 0.5rem 0 1rem; overflow-wrap: anywhere; }
h2 { font-size: 1.15rem; margin-top: 2rem; }
a { color: inherit; }
form { margin: 1rem 0; }
fieldset { border: 1px solid var(--muted); border-radius: 0.4rem; margin: 1rem 0; }
label { display: block; margin: 0.3rem 0; }
input[type="text"] { font: inherit; width: 100%; max-width: 22rem; padding: 0.4rem; }
button { font: inherit; padding: 0.4rem 0.9rem; border-radius: 0.4rem; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button.secondary { background: transparent; color: inherit; }
.inline { display: inline; }
.notice { border-left: 0.3rem solid var(--accent); padding: 0.4rem 0.8rem; background: rgb(12 75 51 / 0.1); }
.refused { color: #b00020; font-weight: 600; }
.muted { color: var(--muted); }
code, pre { font-family: ui-monospace, monospace; font-size: 0.9rem; overflow-wrap: anywhere; white-space: pre-wrap; }
ul.records { list-style: none; padding: 0; }
ul.records li { border: 1px solid var(--muted); border-radius: 0.4rem; padding: 0.5rem 0.8rem; margin: 0.5rem 0; }
.tag { font-size: 0.8rem; padding: 0.1rem 0.5rem; border-radius: 0.4rem; background: var(--accent); color: #fff; white-space: nowrap; }
`;

/** A form's hidden CSRF field. */
function csrfField(token: string): SafeHtml {
  return html`<input type="hidden" name="csrfToken" value="${token}">`;
}

/** A form with one button that POSTs to `action` with the CSRF token. */
function postButton(action: string, token: string, label: string, secondary = false): SafeHtml {
  const button = secondary
    ? html`<button type="submit" class="secondary">${label}</button>`
    : html`<button type="submit">${label}</button>`;
  return html`<form class="inline" method="post" action="${action}">${csrfField(token)}${button}</form>`;
}

/** Wraps `content` in the page shell: viewport meta, stylesheet, navigation. */
export function layout(title: string, content: SafeHtml, notice?: string): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · keepstate demo</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<header><nav><strong>keepstate demo</strong><a href="/">Home</a><a href="/login">Log in</a><a href="/logout">Log out</a><a href="/devices">Devices</a><a href="/cookies">Cookies</a><a href="/sessions">Sessions</a></nav></header>
<main>
${notice === undefined ? '' : html`<p class="notice" role="status">${notice}</p>`}
${content}
</main>
</body>
</html>
`.text;
}

/** What the home page shows of a logged-in visitor's session. */
export interface SessionSummary {
  readonly visits: number;
  readonly expireAtBrowserClose: boolean;
  readonly expiresAt: Date;
  /** Seconds. */
  readonly expiryAge: number;
  readonly csrfToken: string;
}

/** `/`: the greeting, and for a logged-in visitor what their session holds. */
export function homePage(name: string | undefined, summary: SessionSummary | undefined): string {
  const body =
    name === undefined || summary === undefined
      ? html`<p>You are not logged in. <a href="/login">Log in</a> to have your name kept in your session.</p>`
      : html`<p>You have seen this page ${summary.visits} ${summary.visits === 1 ? 'time' : 'times'} since logging in. Each visit saves the session, which restarts an idle timeout.</p>
<p>${
          summary.expireAtBrowserClose
            ? 'Your session cookie lasts until the browser closes.'
            : html`Your session expires at ${utc(summary.expiresAt)}, in ${about(summary.expiryAge)} (<code>getExpiryAge()</code> is ${summary.expiryAge}), unless you come back.`
        }</p>
<p><a href="/devices">Your devices</a> · <a href="/login">Log in as someone else</a></p>
${postButton('/logout', summary.csrfToken, 'Log out', true)}`;
  return layout('Home', html`<h1>Hello, ${name ?? GUEST}</h1>${body}`);
}

/**
 * `/login`: a name and an expiry choice. `next` is the page to go to afterwards, as Django's
 * `login_required` passes it; the view checks it is one of the demo's own pages.
 */
export function loginPage(csrfToken: string, error?: string, name = '', next?: string): string {
  const choices = Object.entries(EXPIRY_CHOICES).map(
    ([value, { label }]) =>
      html`<label><input type="radio" name="expiry" value="${value}"${value === 'default' ? html` checked` : ''}> ${label}</label>`,
  );
  return layout(
    'Log in',
    html`<h1>Log in</h1>
${error === undefined ? '' : html`<p class="refused" role="alert">${error}</p>`}
<form method="post" action="/login">
${csrfField(csrfToken)}
${next === undefined ? '' : html`<input type="hidden" name="next" value="${next}">`}
<label for="name">Name</label>
<input type="text" id="name" name="name" value="${name}" maxlength="100" required autofocus>
<fieldset><legend>Keep me logged in for</legend>${choices}</fieldset>
<button type="submit">Log in</button>
</form>
<p class="muted">Logging in moves your session to a new key (<code>cycleKey()</code>), so a key planted in your browser beforehand is worthless afterwards.</p>`,
  );
}

/** `/logout`: a confirmation, since logging out changes state and so must be a POST. */
export function logoutPage(name: string | undefined, csrfToken: string | undefined): string {
  const body =
    name === undefined || csrfToken === undefined
      ? html`<p>You are not logged in. <a href="/">Home</a></p>`
      : html`<p>Log out ${name}? This deletes the session (<code>flush()</code>) and its cookie.</p>${postButton('/logout', csrfToken, 'Log out')}`;
  return layout('Log out', html`<h1>Log out</h1>${body}`);
}

/** What the cookies page shows of the request's cookies. */
export interface CookieView {
  /** The plain cookie's value as the browser sent it, or `undefined`. */
  readonly plainRaw: string | undefined;
  /** The plain cookie's value, decoded. */
  readonly plain: string | undefined;
  /** The signed cookie's value as the browser sent it (value, timestamp, signature). */
  readonly signedRaw: string | undefined;
  /** The signed cookie's verified value, decoded; `undefined` when missing or refused. */
  readonly signed: string | undefined;
  readonly plainName: string;
  readonly signedName: string;
  readonly salt: string;
  readonly csrfToken: string;
}

/** `/cookies`: a plain cookie and a signed one, and a way to tamper with the signed one. */
export function cookiesPage(view: CookieView, notice?: string): string {
  const signedResult =
    view.signedRaw === undefined
      ? html`<p id="signed-result">No <code>${view.signedName}</code> cookie was sent.</p>`
      : view.signed === undefined
        ? html`<p id="signed-result" class="refused">Refused: the signature does not match the value, so <code>getSignedCookie</code> returned nothing.</p>`
        : html`<p id="signed-result">Verified: <strong>${view.signed}</strong></p>`;
  return layout(
    'Cookies',
    html`<h1>Cookies</h1>
<h2>A plain cookie</h2>
<p id="plain-result">${
      view.plain === undefined
        ? html`No <code>${view.plainName}</code> cookie was sent.`
        : html`The browser sent <code>${view.plainName}</code>: <strong>${view.plain}</strong>`
    }</p>
<p class="muted">Anyone can read and change it, scripts on the page included: it is not HttpOnly.</p>
<form method="post" action="/cookies/plain">
${csrfField(view.csrfToken)}
<label for="plain">Value</label>
<input type="text" id="plain" name="value" maxlength="200" required>
<button type="submit" name="action" value="set">Set the cookie</button>
</form>
${view.plainRaw === undefined ? '' : html`<form method="post" action="/cookies/plain">${csrfField(view.csrfToken)}<button type="submit" name="action" value="delete" class="secondary">Delete the cookie</button></form>`}
<h2>A signed cookie</h2>
${signedResult}
${view.signedRaw === undefined ? '' : html`<p class="muted">As sent: <code>${view.signedRaw}</code> (value, timestamp, signature, with the salt <code>${view.salt}</code>).</p>`}
<form method="post" action="/cookies/signed">
${csrfField(view.csrfToken)}
<label for="signed">Value</label>
<input type="text" id="signed" name="value" maxlength="200" required>
<button type="submit">Sign and set</button>
</form>
${view.signedRaw === undefined ? '' : html`<div>${postButton('/cookies/tamper', view.csrfToken, 'Tamper with it', true)} <span class="muted">rewrites the value and keeps the old signature, as someone editing the cookie would.</span></div>`}`,
    notice,
  );
}

/** What the sessions page shows. */
export interface SessionsView {
  /** The store's class name. */
  readonly storeName: string;
  /** The live records, or `null` when the store cannot list them. */
  readonly records: readonly SessionRecord[] | null;
  /** The most records the page asked for. */
  readonly limit: number;
  /** The visitor's own session key, to mark it. */
  readonly ownKey: string | null;
  readonly csrfToken: string;
}

/** How many characters of a session key the sessions page shows: enough to tell them apart. */
export const KEY_PREFIX_LENGTH = 8;

/** `/sessions`: the stored sessions, and a button that runs `clearExpired`. */
export function sessionsPage(view: SessionsView, notice?: string): string {
  let listing: SafeHtml;
  if (view.records === null) {
    listing = html`<p>The ${view.storeName} cannot list sessions: it has no <code>list()</code>.</p>`;
  } else if (view.records.length === 0) {
    listing = html`<p>No live sessions.</p>`;
  } else {
    const items = view.records.map(
      (record) =>
        html`<li><code>${record.sessionKey.slice(0, KEY_PREFIX_LENGTH)}…</code>${record.sessionKey === view.ownKey ? html` <strong>(yours)</strong>` : ''}
<pre>${JSON.stringify(redact(record.data), null, 1)}</pre>
<span class="muted">expires ${utc(record.expiresAt)}</span></li>`,
    );
    listing = html`<ul class="records">${items}</ul>${view.records.length === view.limit ? html`<p class="muted">Showing the first ${view.limit}.</p>` : ''}`;
  }
  return layout(
    'Sessions',
    html`<h1>Sessions</h1>
<p class="muted">Store: ${view.storeName}. Only the start of each session key is shown: a key is as good as a password. In a real site this page would be for staff only.</p>
${listing}
${postButton('/sessions/clear-expired', view.csrfToken, 'Clear expired sessions')}
<p class="muted">The same as <code>keepstate clearsessions</code> (Django's <code>manage.py clearsessions</code>).</p>`,
    notice,
  );
}

/** What the devices page shows. */
export interface DevicesView {
  /** The user the visitor's session is filed under (the demo's login name). */
  readonly user: string;
  /** The store's class name. */
  readonly storeName: string;
  /** The user's live sessions, or `null` when the store keeps no index of users' sessions. */
  readonly devices: readonly UserSession[] | null;
  /** `sessionKeyHash` of the visitor's own session key, to mark "This device". */
  readonly ownKeyHash: string | null;
  readonly csrfToken: string;
}

/** `/devices`: the sessions of the logged-in user, and a button that ends all but this one. */
export function devicesPage(view: DevicesView, notice?: string): string {
  let listing: SafeHtml;
  if (view.devices === null) {
    listing = html`<p>The ${view.storeName} keeps no index of users' sessions, so it cannot list them: try a server-side store.</p>`;
  } else {
    const items = view.devices.map(
      (device) =>
        html`<li><strong title="${device.userAgent ?? ''}">${describeUserAgent(device.userAgent)}</strong>${device.keyHash === view.ownKeyHash ? html` <span class="tag">This device</span>` : ''}<br>
<span class="muted">Signed in ${utc(device.createdAt)}<br>Last active ${utc(device.lastActivity)}<br>Expires ${utc(device.expiresAt)}</span></li>`,
    );
    const others = view.devices.filter((device) => device.keyHash !== view.ownKeyHash).length;
    listing = html`<p>${view.user} is signed in on ${view.devices.length === 1 ? '1 device.' : `${view.devices.length} devices, most recently active first.`}</p>
<ul class="records">${items}</ul>
${others === 0 ? html`<p class="muted">No other device is signed in.</p>` : postButton('/devices/sign-out-others', view.csrfToken, 'Sign out other devices')}`;
  }
  return layout(
    'Your devices',
    html`<h1>Your devices</h1>
<p class="muted">keepstate files each session under its user when you log in (<code>setUser()</code>), so it can list them (<code>listSessions()</code>) and end all but this one (<code>deleteUserSessions(user, { except })</code>), say after losing a phone. "Last active" is the session's last save; each visit to the home page saves it.</p>
${listing}`,
    notice,
  );
}

const BROWSERS: readonly (readonly [string, RegExp])[] = [
  ['Edge', /\bEdg(?:e|A|iOS)?\/(\d+)/],
  ['Opera', /\bOPR\/(\d+)/],
  ['Samsung Internet', /\bSamsungBrowser\/(\d+)/],
  ['Firefox', /\b(?:Firefox|FxiOS)\/(\d+)/],
  ['Headless Chrome', /\bHeadlessChrome\/(\d+)/],
  ['Chrome', /\b(?:Chrome|CriOS)\/(\d+)/],
  ['Safari', /\bVersion\/(\d+)\S* (?:Mobile\/\S+ )?Safari\//],
  ['curl', /^curl\/(\d+)/],
];

const SYSTEMS: readonly (readonly [string, RegExp])[] = [
  ['Windows', /\bWindows\b/],
  ['Android', /\bAndroid\b/],
  ['iOS', /\b(?:iPhone|iPad|iPod)\b/],
  ['ChromeOS', /\bCrOS\b/],
  ['macOS', /\bMacintosh\b|\bMac OS X\b/],
  ['Linux', /\bLinux\b/],
];

/** How many characters of a `User-Agent` no rule recognises the devices page shows. */
const MAX_SHOWN_USER_AGENT = 48;

/**
 * A `User-Agent` as a person would name it: "Firefox 126 on Windows", "Safari 17 on iOS";
 * one no rule recognises is shown cut short, and a missing one as "Unknown browser". A header
 * the browser chose, so only a hint: never a way to tell devices apart for security.
 */
export function describeUserAgent(userAgent: string | undefined): string {
  const text = userAgent?.trim() ?? '';
  if (text === '') return 'Unknown browser';
  const system = SYSTEMS.find(([, pattern]) => pattern.test(text))?.[0];
  for (const [name, pattern] of BROWSERS) {
    const version = pattern.exec(text)?.[1];
    if (version !== undefined)
      return system === undefined ? `${name} ${version}` : `${name} ${version} on ${system}`;
  }
  return text.length > MAX_SHOWN_USER_AGENT ? `${text.slice(0, MAX_SHOWN_USER_AGENT - 1)}…` : text;
}

/** An error page. */
export function errorPage(title: string, message: string): string {
  return layout(title, html`<h1>${title}</h1><p>${message}</p><p><a href="/">Home</a></p>`);
}

function redact(data: SessionRecord['data']): SessionRecord['data'] {
  // Another visitor's CSRF token would let this page's reader forge their forms.
  return Object.hasOwn(data, 'csrfToken') ? { ...data, csrfToken: '(hidden)' } : data;
}

/** A duration in seconds, in its largest whole unit: "14 days", "9 seconds". */
function about(seconds: number): string {
  for (const [unit, size] of [
    ['day', 86_400],
    ['hour', 3_600],
    ['minute', 60],
  ] as const) {
    if (seconds >= 2 * size) return `${Math.floor(seconds / size)} ${unit}s`;
  }
  return `${seconds} second${seconds === 1 ? '' : 's'}`;
}

function utc(instant: Date): string {
  return `${instant.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
