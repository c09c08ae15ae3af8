// Every process and temporary directory the load benchmark starts: each child is tracked and
// killed by its PID (at the end, on an error and on SIGINT/SIGTERM), never by name.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** the servers under test are pinned here (`taskset -c`) */
export const SERVER_CPU = '0'
/** publishers, players and relay targets are pinned here */
export const CLIENT_CPU = '1'

const live = new Set<ChildProcess>()
const tempDirs = new Set<string>()

export function track(child: ChildProcess): ChildProcess {
  live.add(child)
  child.on('exit', () => live.delete(child))
  child.on('error', () => live.delete(child))
  return child
}

function killAll(): void {
  for (const c of live) {
    if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
      try { process.kill(c.pid, 'SIGKILL') } catch { /* already gone */ }
    }
  }
  live.clear()
}

/** Kills every tracked child and removes every temporary directory still there. */
export function cleanup(): void {
  killAll()
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true })
  tempDirs.clear()
}

process.on('exit', cleanup)
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => { cleanup(); process.exit(130) })
}

/** SIGKILLs `child` by PID and resolves once it has exited. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  process.kill(child.pid, 'SIGKILL')
  await exited
}

/** A fresh directory under the system's temp dir, removed by `removeTempDir` or at exit. */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  tempDirs.add(dir)
  return dir
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
  tempDirs.delete(dir)
}

/** Starts `cmd` pinned to `cpu`, its stdout and stderr appended to `<dir>/<name>.log`. */
export function spawnPinned(cpu: string, cmd: string, args: string[], dir: string, name: string, cwd = dir): ChildProcess {
  const fd = openSync(join(dir, `${name}.log`), 'a')
  const child = track(spawn('taskset', ['-c', cpu, cmd, ...args], { cwd, stdio: ['ignore', fd, fd] }))
  closeSync(fd)
  return child
}

/** Starts the publisher: ffmpeg looping `file` in real time into `url`, on the client CPU. */
export function spawnPublisher(file: string, url: string, dir: string): ChildProcess {
  return spawnPinned(CLIENT_CPU, 'ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', file,
    '-c', 'copy', '-f', 'flv', url], dir, 'ffmpeg')
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** The median of the numbers that are not NaN (NaN if none). */
export function median(xs: number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b)
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
