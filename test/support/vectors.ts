import { readFileSync } from 'node:fs';
import { pythonJsonParse } from '../../src/signing/python-json.js';

/** One Django-made vector (see ../shared/django/README.md for the fields). */
export interface Vector {
  readonly id: string;
  readonly family: string;
  readonly description: string;
  readonly decode_only: boolean;
  // biome-ignore lint/suspicious/noExplicitAny: vector inputs and outputs vary by family
  readonly input: any;
  // biome-ignore lint/suspicious/noExplicitAny: vector inputs and outputs vary by family
  readonly output: any;
  readonly error: {
    readonly type: string;
    readonly message: string;
    readonly exit?: number;
  } | null;
  readonly facts?: Record<string, unknown>;
}

const cache = new Map<string, Vector[]>();

/** The vectors of `family` made by Django `version` ('5.2' or '3.2'), from test/fixtures. */
export function vectors(family: string, version: '5.2' | '3.2' = '5.2'): Vector[] {
  let all = cache.get(version);
  if (all === undefined) {
    const url = new URL(`../fixtures/vectors-django-${version}.json`, import.meta.url);
    // Python's JSON: integers beyond 2^53 stay exact (bigint), as keepstate decodes them.
    all = (pythonJsonParse(readFileSync(url, 'utf8')) as { vectors: Vector[] }).vectors;
    cache.set(version, all);
  }
  return all.filter((vector) => vector.family === family);
}

/** A clock fixed at `epochSeconds` (fractions allowed), as the vectors' `now`. */
export function fixedClock(epochSeconds: number): () => Date {
  return () => new Date(epochSeconds * 1000);
}

/**
 * The attributes of a Set-Cookie header as a comparable map: the `name=value` pair exact,
 * attribute names lower-cased (the `cookie` package and Python spell them differently), values
 * exact, order ignored.
 */
export function cookieAttributes(header: string): Map<string, string | true> {
  const [pair = '', ...attributes] = header.split('; ');
  const map = new Map<string, string | true>([['', pair]]);
  for (const attribute of attributes) {
    const eq = attribute.indexOf('=');
    if (eq === -1) map.set(attribute.toLowerCase(), true);
    else map.set(attribute.slice(0, eq).toLowerCase(), attribute.slice(eq + 1));
  }
  return map;
}
