// A tiny browser-like cookie jar for one origin (127.0.0.1, every cookie on path /): the
// lost-update scenario applies each response's Set-Cookie headers in the order the responses
// arrive, as a browser does, and sends what it holds on the next request.

export class CookieJar {
  #cookies = new Map(); // name -> value

  /** Applies a response's Set-Cookie list (node's `res.headers['set-cookie']`), in order. */
  apply(setCookie) {
    for (const line of setCookie ?? []) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let expired = false;
      for (const attribute of attributes) {
        const at = attribute.indexOf('=');
        const key = (at < 0 ? attribute : attribute.slice(0, at)).trim().toLowerCase();
        const arg = at < 0 ? '' : attribute.slice(at + 1).trim();
        if (key === 'max-age' && Number(arg) <= 0) expired = true;
        if (key === 'expires' && Date.parse(arg) <= Date.now()) expired = true;
      }
      if (expired) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  /** The Cookie request header, or undefined when the jar is empty. */
  header() {
    if (this.#cookies.size === 0) return undefined;
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  get size() {
    return this.#cookies.size;
  }
}
