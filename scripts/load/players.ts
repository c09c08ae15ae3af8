// The load benchmark's player process (scripts/load/player.c): built with `cc` on first use,
// run pinned to the client CPU, its one-line JSON report read back while the server under test
// is sampled across the same window.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { CLIENT_CPU, stop, track } from './children.js'
import { cacheDir, root } from './media.js'
import { cpuSeconds, rssBytes } from './proc.js'

const playerSource = join(root, 'scripts', 'load', 'player.c')
/** beyond ramp + settle + window, how long a player process may take before it is killed */
const PLAYER_GRACE_MS = 60_000

/** What scripts/load/player.c prints at the end of its window (one JSON line). */
export interface PlayersReport {
  protocol: string
  count: number
  connected: number
  windowSeconds: number
  /** the player process's own CPU over the window, fraction of one core */
  selfCpu: number
  players: Array<{ ttfb: number, ttff: number, bytes: number, lastTs: number, error: string }>
}

export interface PlayersRun {
  report: PlayersReport
  /** the server's CPU seconds over the player process's window */
  cpu: number
  /** the server's RSS at the window's end */
  rss: number
}

export interface PlayersSpec {
  protocol: 'rtmp' | 'flv'
  port: number
  /** app/stream */
  path: string
  count: number
  /** players opened per second */
  rate: number
  windowSeconds: number
  settleSeconds: number
  /** called when the player process starts its window (it wrote MEASURE_START) */
  onWindowStart?: () => void
}

/** Compiles scripts/load/player.c when the binary is missing or older than the source. */
export function ensurePlayer(): string {
  const bin = join(cacheDir, 'player')
  if (existsSync(bin) && statSync(bin).mtimeMs >= statSync(playerSource).mtimeMs) return bin
  mkdirSync(cacheDir, { recursive: true })
  const r = spawnSync('cc', ['-O2', '-Wall', '-Wextra', '-std=gnu11', '-o', bin, playerSource], { stdio: ['ignore', 'inherit', 'inherit'] })
  if (r.status !== 0) throw new Error(`cc could not build ${playerSource} (exit ${r.status}); install gcc`)
  return bin
}

/** Runs a player process pinned to the client CPU; samples the server `serverPid` across its window. */
export async function runPlayers(player: string, serverPid: number, spec: PlayersSpec): Promise<PlayersRun> {
  const { protocol, port, path, count, rate, windowSeconds, settleSeconds } = spec
  const child = track(spawn('taskset', ['-c', CLIENT_CPU, player, protocol, '127.0.0.1', String(port), path,
    String(count), String(rate), String(windowSeconds), String(settleSeconds)], { stdio: ['ignore', 'pipe', 'pipe'] }))
  let cpu0 = 0
  let started = false
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
    if (!started && stderr.includes('MEASURE_START')) {
      started = true
      cpu0 = cpuSeconds(serverPid)
      spec.onWindowStart?.()
    }
  })
  const lines = createInterface({ input: child.stdout! })
  const timeout = setTimeout(() => { void stop(child) }, (count / rate + settleSeconds + windowSeconds) * 1000 + PLAYER_GRACE_MS)
  try {
    for await (const line of lines) {
      if (!line.startsWith('{')) continue
      const cpu = cpuSeconds(serverPid) - cpu0
      const rss = rssBytes(serverPid)
      if (!started) throw new Error('player process reported without MEASURE_START')
      return { report: JSON.parse(line) as PlayersReport, cpu, rss }
    }
    throw new Error(`player process ended without a report: ${stderr.trim().slice(-500)}`)
  } finally {
    clearTimeout(timeout)
    await stop(child)
  }
}
