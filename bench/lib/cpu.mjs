// CPU accounting for the runner (from ../shared/bench): what the CPUs did during a run, from
// /proc/stat, against what the server, wrk, Redis and the runner did, so that a run in which
// something else took CPU can be discarded and repeated.
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

// /proc/stat and /proc/PID/stat count in USER_HZ ticks, which is 100 on Linux.
const HZ = 100;

// Interrupt and softirq work that the benchmark's own loopback traffic causes and that no
// process is charged for: about 0.75-1.5 us per request on quiet runs here. This much is
// expected; anything above it counts as interference.
export const TRAFFIC_IRQ_US = 1.5;

/** Per-CPU ticks from /proc/stat. `task` is time spent running processes (user + nice + system). */
export function readCpuTimes() {
  const out = {};
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [user, nice, system, idle, iowait, irq, softirq, steal] = m[2]
      .trim()
      .split(/\s+/)
      .map(Number);
    out[m[1]] = {
      busy: user + nice + system + irq + softirq,
      task: user + nice + system,
      idle: idle + iowait,
      steal: steal || 0,
    };
  }
  return out;
}

/** CPU seconds spent running processes, all CPUs together. */
export function taskSeconds(times) {
  return Object.values(times).reduce((a, c) => a + c.task, 0) / HZ;
}

/** CPU seconds not idle (processes, interrupts, softirqs), all CPUs together. */
export function busySeconds(times) {
  return Object.values(times).reduce((a, c) => a + c.busy, 0) / HZ;
}

/** This runner's own CPU seconds. */
export function selfSeconds() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Busy and steal share of each CPU between two readings. */
export function cpuDelta(a, b) {
  const out = {};
  for (const k of Object.keys(b)) {
    if (!a[k]) continue;
    const busy = b[k].busy - a[k].busy;
    const idle = b[k].idle - a[k].idle;
    const steal = b[k].steal - a[k].steal;
    const total = busy + idle + steal || 1;
    out[`cpu${k}`] = { busy: busy / total, steal: steal / total };
  }
  return out;
}

/** utime + stime of a process (all its threads), optionally with its waited-for children. */
export function readProcCpuSeconds(pid, { children = false, text } = {}) {
  try {
    const s = text ?? readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // fields 14..17 of proc(5): utime stime cutime cstime
    const own = Number(f[11]) + Number(f[12]);
    return (children ? own + Number(f[13]) + Number(f[14]) : own) / HZ;
  } catch {
    return Number.NaN;
  }
}

/**
 * Waits until at most `limit` cores are busy over a 1 s window, this runner excluded (the server
 * under test is idle then). Returns the seconds waited, or -1 after `maxWait` seconds.
 */
export async function waitForQuiet(limit, maxWait, log) {
  const t0 = Date.now();
  let told = false;
  for (;;) {
    const a = busySeconds(readCpuTimes());
    const s0 = selfSeconds();
    await sleep(1000);
    const load = busySeconds(readCpuTimes()) - a - (selfSeconds() - s0);
    const waited = (Date.now() - t0) / 1000 - 1;
    if (load <= limit) return waited;
    if (waited >= maxWait) return -1;
    if (!told) {
      log(
        `  machine busy (${load.toFixed(2)} cores used by others); waiting for quiet, up to ${maxWait} s`,
      );
      told = true;
    }
  }
}

/**
 * CPU seconds of every process whose command name is `comm`, e.g. the PostgreSQL server's
 * backends, which are not ours to pin but do work for the server under test.
 */
export function commSeconds(comm) {
  let total = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let text;
    try {
      text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    if (text.slice(text.indexOf('(') + 1, text.lastIndexOf(')')) === comm) {
      total += readProcCpuSeconds(pid, { text });
    }
  }
  return total;
}
