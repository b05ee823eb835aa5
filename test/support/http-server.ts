import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';

/** A node:http server on a free loopback port; `close` stops it. */
export interface TestServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts `listener` on 127.0.0.1 on a port the OS picks. */
export async function startServer(listener: RequestListener): Promise<TestServer> {
  const server: Server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** A response as read off the socket: status, headers (lower-case names, repeated ones kept). */
export interface RawResponse {
  readonly status: number;
  readonly headers: [string, string][];
  readonly body: string;
}

/**
 * Sends one GET with `cookieBytes` as the raw bytes of its Cookie header (any bytes but CR and
 * LF, which would end the header), over a plain socket: `fetch` refuses most hostile headers
 * before they leave, so it cannot test what a server must survive.
 */
export function rawGet(
  port: number,
  path: string,
  cookieBytes: Buffer | null,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error('raw request timed out')));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const [head = '', body = ''] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = lines.map((line): [string, string] => {
        const colon = line.indexOf(':');
        return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
      });
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
    });
    const parts: Buffer[] = [
      Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n`, 'latin1'),
    ];
    if (cookieBytes !== null)
      parts.push(Buffer.from('Cookie: ', 'latin1'), cookieBytes, Buffer.from('\r\n', 'latin1'));
    parts.push(Buffer.from('\r\n', 'latin1'));
    socket.end(Buffer.concat(parts));
  });
}
