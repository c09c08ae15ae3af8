// What the load benchmark and the soak read about a server process: readiness (its port
// accepts), CPU seconds and resident memory from /proc.
import { spawnSync, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { connect } from 'node:net'

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100
/** bound on a server starting to listen */
const LISTEN_WAIT_MS = 10_000
const LISTEN_POLL_MS = 50

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Resolves once 127.0.0.1:`port` accepts; rejects if `child` exits first or after 10 s. */
export async function waitForPort(port: number, child: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + LISTEN_WAIT_MS
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited during start-up`)
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1')
      s.on('connect', () => { s.destroy(); resolve(true) })
      s.on('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${port} within ${LISTEN_WAIT_MS / 1000} s`)
    await sleep(LISTEN_POLL_MS)
  }
}

/** pid plus its direct children (none expected: every server runs as a single process) */
function pids(pid: number): number[] {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
    return [pid, ...kids]
  } catch {
    return [pid]
  }
}

/** utime + stime in seconds, over the process and its direct children */
export function cpuSeconds(pid: number): number {
  let ticks = 0
  for (const p of pids(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8')
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks += Number(rest[11]) + Number(rest[12]) // fields 14, 15
    } catch { /* exited */ }
  }
  return ticks / CLK_TCK
}

/** VmRSS in bytes, over the process and its direct children */
export function rssBytes(pid: number): number {
  let kb = 0
  for (const p of pids(pid)) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))
      if (m !== null) kb += Number(m[1])
    } catch { /* exited */ }
  }
  return kb * 1024
}
