// A hand-written SVG bar chart of a run: one row per scenario, one bar per workload, in ratios to
// bare node:http measured in the same run, with the issue's floors marked on keepstate's bars.
import { checkTargets } from './report.mjs';

const COLORS = { R: '#4c78a8', W: '#f58518', N: '#54a24b' };
const NAMES = { R: 'R: read', W: 'W: write every request', N: 'N: new session' };
const GROUPS = { base: 'no sessions', peer: 'peers (npm)', keepstate: 'keepstate' };
const LABEL_W = 210;
const PLOT_W = 600;
const BAR = 8;
const GAP = 2;
const ROW_PAD = 10;
const TOP = 92;

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function renderSvg(rows, opts, meta) {
  const scenarios = opts.scenarios.filter((s) => rows.some((r) => r.scenario === s.name));
  const maxRatio = Math.max(1.2, ...rows.map((r) => r.ratio ?? 0));
  const xMax = Math.ceil(maxRatio * 4) / 4;
  const x = (ratio) => LABEL_W + (ratio / xMax) * PLOT_W;
  const floors = checkTargets(rows);
  const ratioOf = (name, wl) => rows.find((r) => r.scenario === name && r.workload === wl)?.ratio;
  const out = [];
  let y = TOP;
  let group = null;
  for (const scn of scenarios) {
    if (scn.group !== group) {
      group = scn.group;
      y += 8;
      out.push(`<text x="8" y="${y + 4}" class="group">${esc(GROUPS[group] ?? group)}</text>`);
      out.push(`<line x1="${LABEL_W}" x2="${LABEL_W + PLOT_W}" y1="${y}" y2="${y}" class="sep"/>`);
      y += 14;
    }
    const wls = opts.workloads.filter((w) =>
      rows.some((r) => r.scenario === scn.name && r.workload === w),
    );
    const h = wls.length * BAR + (wls.length - 1) * GAP;
    const cls = scn.group === 'keepstate' ? 'label ks' : 'label';
    out.push(
      `<text x="${LABEL_W - 8}" y="${y + h / 2 + 4}" class="${cls}">${esc(scn.name)}</text>`,
    );
    wls.forEach((wl, i) => {
      const by = y + i * (BAR + GAP);
      const r = rows.find((row) => row.scenario === scn.name && row.workload === wl);
      if (!r?.ratio) {
        out.push(`<text x="${LABEL_W + 4}" y="${by + BAR - 1}" class="value">${wl}: failed</text>`);
        return;
      }
      const w = Math.max(1, x(r.ratio) - LABEL_W);
      // the value goes after the bar, or after a floor mark that sits just past its end
      const marks = floors
        .filter((f) => f.of === scn.name && f.workload === wl)
        .map((f) => x(f.min * (f.to === 'baseline-http' ? 1 : (ratioOf(f.to, wl) ?? 0))));
      const end = LABEL_W + w;
      const textX = Math.max(end, ...marks.filter((m) => m >= end - 2 && m <= end + 30));
      out.push(
        `<rect x="${LABEL_W}" y="${by}" width="${w.toFixed(1)}" height="${BAR}" fill="${COLORS[wl]}"><title>${esc(`${scn.name} ${wl}: ${Math.round(r.rps)} req/s, ${r.ratio.toFixed(2)} × baseline-http, p99 ${(r.p99 / 1000).toFixed(2)} ms`)}</title></rect>`,
      );
      out.push(
        `<text x="${(textX + 4).toFixed(1)}" y="${by + BAR - 0.5}" class="value">${r.ratio.toFixed(2)}</text>`,
      );
      for (const t of floors.filter((f) => f.of === scn.name && f.workload === wl)) {
        const base = t.to === 'baseline-http' ? 1 : ratioOf(t.to, wl);
        if (!base) continue;
        const fx = x(t.min * base).toFixed(1);
        out.push(
          `<line x1="${fx}" x2="${fx}" y1="${by - 1.5}" y2="${by + BAR + 1.5}" class="${t.held ? 'floor' : 'floor miss'}"><title>${esc(`floor ${t.min} × ${t.to}: ${t.held ? 'holds' : 'misses'}`)}</title></line>`,
        );
      }
    });
    y += h + ROW_PAD;
  }
  const bottom = y + 4;
  const grid = [];
  for (let g = 0; g <= xMax + 1e-9; g += 0.25) {
    const gx = x(g).toFixed(1);
    grid.push(
      `<line x1="${gx}" x2="${gx}" y1="${TOP}" y2="${bottom}" class="${g === 1 ? 'one' : 'grid'}"/>`,
    );
    grid.push(`<text x="${gx}" y="${bottom + 14}" class="tick">${g.toFixed(2)}</text>`);
  }
  const legend = opts.workloads.map((wl, i) => {
    const lx = LABEL_W + i * 190;
    return `<rect x="${lx}" y="58" width="12" height="10" fill="${COLORS[wl]}"/><text x="${lx + 16}" y="67" class="legend">${esc(NAMES[wl])}</text>`;
  });
  legend.push(
    `<line x1="${LABEL_W + 3 * 190 - 20}" x2="${LABEL_W + 3 * 190 - 20}" y1="56" y2="70" class="floor"/><text x="${LABEL_W + 3 * 190 - 14}" y="67" class="legend">floor (issue 8)</text>`,
  );
  const width = LABEL_W + PLOT_W + 50;
  const height = bottom + 44;
  const sub = `${meta.date}${opts.quick ? ' (quick mode)' : ''} · ${meta.machine} · node ${process.version} · ${opts.runs} × ${opts.duration} s per cell, ${opts.connections} connections, server on one pinned core`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" role="img" aria-labelledby="chart-title chart-desc">
<title id="chart-title">Session throughput, as a ratio to bare node:http in the same run</title>
<desc id="chart-desc">${esc(sub)}. One row per scenario, one bar per workload (R read, W write, N new session); marks show issue 8's floors.</desc>
<style>
text { fill: #222; font-size: 12px; }
.title { font-size: 16px; font-weight: 600; }
.sub, .tick, .foot { font-size: 10.5px; fill: #555; }
.tick { text-anchor: middle; }
.label { text-anchor: end; }
.ks { font-weight: 600; }
.group { font-size: 11px; font-weight: 600; fill: #777; text-transform: uppercase; letter-spacing: 0.04em; }
.value { font-size: 9.5px; fill: #333; }
.legend { font-size: 11.5px; }
.grid { stroke: #e3e3e3; }
.one { stroke: #888; stroke-dasharray: 3 3; }
.sep { stroke: #ccc; }
.floor { stroke: #111; stroke-width: 2; }
.miss { stroke: #d62728; }
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="8" y="22" class="title">Session throughput, as a ratio to bare node:http in the same run (higher is better)</text>
<text x="8" y="40" class="sub">${esc(sub)}</text>
${grid.join('\n')}
${legend.join('\n')}
${out.join('\n')}
<text x="8" y="${height - 10}" class="foot">wrk on loopback, 1,000 pre-created sessions. Floors: black = holds, red = misses. Hover a bar for req/s and p99. Source: bench/ (npm run bench).</text>
</svg>
`;
}
