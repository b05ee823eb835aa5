#!/usr/bin/env node
// Draws the chart of a past run again from its JSON report (bench/results/<time>.json), e.g.
// after a change to lib/svg.mjs:  node bench/render-svg.mjs bench/results/<time>.json [out.svg]
import { readFileSync, writeFileSync } from 'node:fs';
import { renderSvg } from './lib/svg.mjs';
import { scenarios } from './scenarios.mjs';

const [input, output = input.replace(/\.json$/, '.svg')] = process.argv.slice(2);
if (!input) {
  console.error('usage: node bench/render-svg.mjs RESULTS.json [OUT.svg]');
  process.exit(2);
}
const { meta, options, rows } = JSON.parse(readFileSync(input, 'utf8'));
const opts = { ...options, scenarios: scenarios.filter((s) => options.scenarios.includes(s.name)) };
writeFileSync(output, renderSvg(rows, opts, meta));
console.error(`chart: ${output}`);
