// The report of a run: per-cell medians, ratios to baseline-http, the issue's targets, and the
// markdown tables printed to stdout and written to results/.
import { TRAFFIC_IRQ_US } from './cpu.mjs';
import { targets } from './targets.mjs';

export const BASELINE = 'baseline-http';

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const fmtInt = (n) => Math.round(n).toLocaleString('en-US');
export const fmtMs = (us) => (us / 1000).toFixed(us < 10000 ? 2 : 1);
const fmtPct = (x) => `${Math.round(x * 100)}%`;
const fmtCores = (x) => (Number.isFinite(x) ? x.toFixed(2) : '?');

/** One row per scenario and workload: medians over its runs, and its ratio to baseline-http. */
export function summarize(runs, opts) {
  const rows = [];
  for (const scn of opts.scenarios) {
    for (const wl of workloadsOf(scn, opts)) {
      const rs = runs.filter((r) => r.scenario === scn.name && r.workload === wl);
      if (!rs.length) {
        rows.push({
          scenario: scn.name,
          workload: wl,
          failed: opts.failures.get(scn.name) || 'no runs',
        });
        continue;
      }
      const rps = rs.map((r) => r.rps);
      const med = median(rps);
      rows.push({
        scenario: scn.name,
        group: scn.group,
        workload: wl,
        n: rs.length,
        rps: med,
        spread: (Math.max(...rps) - Math.min(...rps)) / med,
        p50: median(rs.map((r) => r.latency_us.p50)),
        p99: median(rs.map((r) => r.latency_us.p99)),
        serverCpu: median(rs.map((r) => r.server_cpu)),
        wrkCpu: median(rs.map((r) => r.wrk_cpu)),
        storeCpu: median(rs.map((r) => r.store_cpu)),
        foreign: Math.max(...rs.map((r) => r.foreign_cpu)),
        noisy: rs.filter((r) => r.noisy).length,
        bad: rs.reduce((a, r) => a + r.errors + r.non2xx, 0),
      });
    }
  }
  const base = new Map(
    rows.filter((r) => r.scenario === BASELINE && r.rps).map((r) => [r.workload, r.rps]),
  );
  for (const r of rows) if (r.rps && base.get(r.workload)) r.ratio = r.rps / base.get(r.workload);
  return rows;
}

export function workloadsOf(scn, opts) {
  return opts.workloads.filter((w) => !scn.workloads || scn.workloads.includes(w));
}

/** The issue's targets that this run measured, each with its ratio and whether it holds. */
export function checkTargets(rows) {
  const rps = (name, wl) => rows.find((r) => r.scenario === name && r.workload === wl)?.rps;
  return targets.flatMap((t) => {
    const to = t.to ?? BASELINE;
    const a = rps(t.of, t.workload);
    const b = rps(to, t.workload);
    if (!a || !b) return [];
    return [{ ...t, to, ratio: a / b, held: a / b >= t.min }];
  });
}

export function renderMarkdown(rows, opts, meta) {
  const L = [];
  L.push(`### keepstate session benchmark, ${meta.date}${opts.quick ? ' (quick mode)' : ''}`);
  L.push('');
  L.push(`${meta.machine}; node ${process.version}; ${meta.wrk}; keepstate ${meta.keepstate}.`);
  L.push(
    `${opts.connections} connections, wrk ${opts.threads} thread(s); ${opts.runs} measured run(s) of ${opts.duration} s per cell, each after ${opts.warmup} s of warm-up on a freshly started server; rounds interleaved across scenarios; ${opts.sessions} pre-created sessions cycled by R and W.`,
  );
  L.push(
    opts.pin
      ? `Server pinned to CPU ${opts.serverCpu}; wrk (and the bench's Redis) on CPU ${opts.loadCpu}; PostgreSQL unpinned (a system service).`
      : 'No CPU pinning.',
  );
  L.push('');
  L.push(
    '| scenario | workload | req/s (median) | spread | p50 ms | p99 ms | × baseline-http | server CPU | wrk CPU | store CPU |',
  );
  L.push('| --- | :---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    if (!r.rps) {
      L.push(
        `| ${r.scenario} | ${r.workload} | failed: ${String(r.failed).split('\n')[0].replace(/\|/g, '/')} | | | | | | | |`,
      );
      continue;
    }
    const warn =
      (r.bad ? ` ⚠ ${fmtInt(r.bad)} errors/non-2xx` : '') + (r.noisy ? ` ~${r.noisy}` : '');
    const store = r.storeCpu > 0 ? fmtCores(r.storeCpu) : '–';
    L.push(
      `| ${r.scenario} | ${r.workload} | ${fmtInt(r.rps)}${warn} | ±${fmtPct(r.spread / 2)} | ${fmtMs(r.p50)} | ${fmtMs(r.p99)} | ${r.ratio ? r.ratio.toFixed(2) : '–'} | ${fmtCores(r.serverCpu)} | ${fmtCores(r.wrkCpu)} | ${store} |`,
    );
  }
  L.push('');
  L.push(`| scenario | ${opts.workloads.map((w) => `${w} req/s (× base)`).join(' | ')} |`);
  L.push(`| --- | ${opts.workloads.map(() => '---:').join(' | ')} |`);
  for (const scn of opts.scenarios) {
    const cells = opts.workloads.map((w) => {
      const r = rows.find((x) => x.scenario === scn.name && x.workload === w);
      if (!r) return '';
      return r.rps ? `${fmtInt(r.rps)} (${r.ratio ? r.ratio.toFixed(2) : '–'})` : 'failed';
    });
    L.push(`| ${scn.name} | ${cells.join(' | ')} |`);
  }
  const checked = checkTargets(rows);
  if (checked.length) {
    L.push('');
    L.push('| target (issue 8) | workload | ratio | floor | |');
    L.push('| --- | :---: | ---: | ---: | --- |');
    for (const t of checked) {
      L.push(
        `| ${t.of} / ${t.to} | ${t.workload} | ${t.ratio.toFixed(2)} | ${t.min.toFixed(2)} | ${t.held ? 'holds' : '**misses**'} |`,
      );
    }
  }
  L.push('');
  L.push(
    `spread = (max − min) / 2 / median over the runs; p50/p99 = medians over the runs of wrk's per-run percentiles (closed loop: ${opts.connections} requests always in flight). CPU columns = each process's CPU time / wall time, in cores, medians over the runs; store CPU = the bench's Redis, or all PostgreSQL processes. A run during which anything else (other processes, or interrupt work beyond ${TRAFFIC_IRQ_US} µs per request) used more than ${opts.maxForeign} cores was discarded and repeated (${meta.retried} repeat(s) in all; waiting for quiet and repeats took ${meta.noiseSpent} of the ${opts.noiseBudget} s allowed); ~N marks cells where N kept runs were still above that after ${opts.retries} repeats. Most such CPU in a kept run: ${meta.maxForeign.toFixed(2)} cores; highest steal seen on any CPU: ${fmtPct(meta.maxSteal)}.`,
  );
  L.push('');
  L.push(`Versions: ${meta.versions.join(', ')}.`);
  return L.join('\n');
}
