import { createHash } from 'node:crypto';

/**
 * The scripting commands a {@link RedisScript} sends, typed so that an ioredis `Redis` and
 * `Cluster` both fit without a cast.
 *
 * @see https://redis.io/docs/latest/commands/evalsha/
 */
export interface RedisScriptClient {
  eval(script: string, numkeys: number, ...args: (string | number)[]): Promise<unknown>;
  evalsha(sha1: string, numkeys: number, ...args: (string | number)[]): Promise<unknown>;
}

/**
 * A Lua script that runs atomically on the server holding its one key: sent as `EVALSHA`, and
 * as `EVAL` (which also caches it) when the server answers `NOSCRIPT` (after a restart, a
 * `SCRIPT FLUSH`, or on a cluster node that never ran it). A script names one key, so it needs
 * neither a connection of its own, as `WATCH` does, nor keys that share a cluster slot.
 *
 * @see https://redis.io/docs/latest/develop/interact/programmability/eval-intro/
 */
export class RedisScript {
  readonly #source: string;
  readonly #sha1: string;

  /** @param source - Lua that reads its key as `KEYS[1]` and its arguments as `ARGV` */
  constructor(source: string) {
    this.#source = source;
    this.#sha1 = createHash('sha1').update(source).digest('hex');
  }

  /** Runs the script on `key` with `args`, and returns its reply. Rejects as the client does. */
  async run(client: RedisScriptClient, key: string, args: (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(this.#sha1, 1, key, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return client.eval(this.#source, 1, key, ...args);
    }
  }
}
