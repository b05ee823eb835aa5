// Loopback clients for the runner: one HTTP GET, a cookie jar merge, a minimal Redis client
// (PING, FLUSHDB, INFO) and a TCP probe, so the runner needs no driver. Refuses any host but
// 127.0.0.1.
import http from 'node:http';
import net from 'node:net';

export const HOST = '127.0.0.1';

/** Throws unless `url` points at loopback. */
export function loopbackUrl(url, what) {
  const u = new URL(url);
  if (u.hostname !== HOST && u.hostname !== 'localhost') {
    throw new Error(`${what} must be on loopback (127.0.0.1), got ${u.hostname}`);
  }
  return u;
}

/** One HTTP GET to the server under test. */
export function get(port, path, { cookie, agent } = {}) {
  return new Promise((resolve, reject) => {
    const headers = cookie ? { cookie } : {};
    const req = http.request({ host: HOST, port, path, method: 'GET', headers, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.setTimeout(5000, () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** name=value pairs of a Set-Cookie list, merged over an existing Cookie header. */
export function mergeCookies(cookieHeader, setCookie) {
  const jar = new Map();
  for (const part of (cookieHeader || '').split(';')) {
    const p = part.trim();
    if (!p) continue;
    const eq = p.indexOf('=');
    jar.set(p.slice(0, eq), p.slice(eq + 1));
  }
  for (const sc of setCookie || []) {
    const pair = sc.split(';', 1)[0].trim();
    const eq = pair.indexOf('=');
    if (eq > 0) jar.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
}

/** One inline Redis command over loopback; the reply line, or the raw text with `raw`. */
export function redisCommand(url, command, { raw = false } = {}) {
  const u = loopbackUrl(url, 'REDIS_URL');
  const db = u.pathname && u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: HOST, port: Number(u.port || 6379) });
    let buf = '';
    const lines = [];
    if (u.password) {
      const user = u.username ? `${decodeURIComponent(u.username)} ` : '';
      lines.push(`AUTH ${user}${decodeURIComponent(u.password)}`);
    }
    if (db) lines.push(`SELECT ${db}`);
    lines.push(command, 'QUIT');
    sock.setTimeout(3000, () => sock.destroy(new Error('redis timed out')));
    sock.on('connect', () => sock.write(lines.map((l) => `${l}\r\n`).join('')));
    sock.on('data', (d) => {
      buf += d;
    });
    sock.on('error', reject);
    sock.on('close', () => {
      const replies = buf.split('\r\n').filter(Boolean);
      const err = replies.find((r) => r.startsWith('-'));
      if (err) reject(new Error(`redis: ${err.slice(1)}`));
      else resolve(raw ? buf : (replies[lines.length - 2] ?? ''));
    });
  });
}

/** Redis's own CPU seconds (INFO cpu), or 0 when it cannot be asked. */
export async function redisSeconds(url) {
  try {
    const info = await redisCommand(url, 'INFO cpu', { raw: true });
    const num = (k) => Number((new RegExp(`^${k}:([\\d.]+)`, 'm').exec(info) || [])[1] || 0);
    return num('used_cpu_sys') + num('used_cpu_user');
  } catch {
    return 0;
  }
}

/** Resolves when something accepts a TCP connection at the URL's loopback host and port. */
export function probeTcp(url, defaultPort) {
  const u = loopbackUrl(url, 'the URL');
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: HOST, port: Number(u.port || defaultPort) });
    sock.setTimeout(2000, () => sock.destroy(new Error('timed out')));
    sock.on('connect', () => {
      sock.end();
      resolve();
    });
    sock.on('error', reject);
  });
}
