#!/usr/bin/env node
// Summarizes V8 CPU profiles (node --cpu-prof; bench.mjs --cpu-prof DIR writes one per cell):
// the functions with the most self time, the keepstate functions with the most total time, and
// self time by where the code lives, as markdown.
//
//   node bench/profile-top.mjs [--top 15] FILE.cpuprofile ...
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '15' } },
});
const TOP = Number(values.top);

/** Where a function lives, short: dist/…, a package name, node:…, or V8's (program), (gc)… */
function place(url) {
  if (!url) return '';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm !== -1) {
    const parts = url.slice(nm + 14).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  const dist = url.lastIndexOf('/dist/');
  if (dist !== -1) return `keepstate ${url.slice(dist + 1)}`;
  if (url.startsWith('node:')) return url;
  return url.replace(/^file:\/\//, '').replace(/^.*\/bench\//, 'bench/');
}

function area(frame) {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.includes('/node_modules/')) return place(url);
  if (url.includes('/dist/')) return 'keepstate';
  if (url.startsWith('node:')) return 'node core';
  return 'bench server';
}

function summarize(file) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map();
  prof.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
  });
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const key = (f) => `${f.functionName || '(anonymous)'}\u0000${place(f.url)}:${f.lineNumber + 1}`;
  const self = new Map();
  const areas = new Map();
  const inclusive = new Map();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id).callFrame;
    self.set(key(frame), (self.get(key(frame)) ?? 0) + us);
    areas.set(area(frame), (areas.get(area(frame)) ?? 0) + us);
    // total time: every keepstate function on the stack, once per sample
    const seen = new Set();
    for (let n = id; n !== undefined; n = parent.get(n)) {
      const f = byId.get(n).callFrame;
      if (!f.url.includes('/dist/') || f.url.includes('/node_modules/')) continue;
      const k = key(f);
      if (!seen.has(k)) {
        seen.add(k);
        inclusive.set(k, (inclusive.get(k) ?? 0) + us);
      }
    }
  }
  // Shares are of the busy samples: idle time (start-up, seeding, waiting for quiet) says
  // nothing about the cost of a request.
  const idle = areas.get('(idle)') ?? 0;
  const busy = total - idle;
  const pct = (us) => `${((100 * us) / busy).toFixed(1)}%`;
  const name = (k) => {
    const [fn, where] = k.split('\u0000');
    return `\`${fn}\` ${where}`;
  };
  const L = [`#### ${basename(file)}`, ''];
  L.push(
    `${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy; shares are of the busy time.`,
  );
  L.push('');
  L.push('| self | function |');
  L.push('| ---: | --- |');
  const ranked = [...self].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]);
  for (const [k, us] of ranked.slice(0, TOP)) L.push(`| ${pct(us)} | ${name(k)} |`);
  L.push('');
  L.push('| total | keepstate function |');
  L.push('| ---: | --- |');
  for (const [k, us] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, TOP))
    L.push(`| ${pct(us)} | ${name(k)} |`);
  L.push('');
  const parts = [...areas]
    .filter(([a]) => a !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .map(([a, us]) => `${a} ${pct(us)}`);
  L.push(`Self time by area: ${parts.join(', ')}.`);
  L.push('');
  return L.join('\n');
}

if (!positionals.length) {
  console.error('usage: node bench/profile-top.mjs [--top N] FILE.cpuprofile ...');
  process.exit(2);
}
for (const file of positionals) console.log(summarize(file));
