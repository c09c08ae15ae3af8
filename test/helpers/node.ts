// A real edge process for network tests: a config written to a temp dir with ports picked
// free at run time, started by PID, ready once it logs "started", stopped in teardown.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { edgeBin, fixturesDir, repoRoot } from './edge.js'

/** The media file publishers loop (see test/fixtures/media/README.md). */
export const TEST_MEDIA = join(fixturesDir, 'media', 'testsrc-10s.flv')

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as { port: number }).port
  server.close()
  await once(server, 'close')
  return port
}

export interface EdgeProcess {
  readonly child: ChildProcess
  readonly dir: string
  /** everything the node logged so far (error_log stderr) */
  log(): string
  /** resolves when the log contains `text`, rejects after `timeoutMs` */
  waitForLog(text: string | RegExp, timeoutMs?: number): Promise<void>
  stop(): Promise<void>
}

/**
 * Start `edge -c <conf>`; `conf` is the text from `events {}` on (daemon, pid and error_log
 * lines are prepended). Resolves once the node has started listening.
 */
export async function startEdge(conf: string, opts: { level?: string } = {}): Promise<EdgeProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'edge-node-'))
  const file = join(dir, 'nginx.conf')
  writeFileSync(file, `daemon off;\nerror_log stderr ${opts.level ?? 'info'};\npid ${join(dir, 'edge.pid')};\n${conf}`)
  return runningEdge([edgeBin, '-c', file], dir)
}

/**
 * Run `node <args>` (the edge binary and its options; `cwd` the repository root unless given)
 * with a config that logs to stderr and does not daemonize; resolves once the node has started.
 * stop() ends it by PID and removes `dir`.
 */
export async function runningEdge(args: readonly string[], dir: string, cwd = repoRoot): Promise<EdgeProcess> {
  const child = spawn('env', ['-u', 'NODE_OPTIONS', process.execPath, ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
  let text = ''
  const waiters: { match: (s: string) => boolean, resolve: () => void }[] = []
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    text += d
    for (const w of [...waiters]) {
      if (w.match(text)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve()
      }
    }
  })
  const waitForLog = (pattern: string | RegExp, timeoutMs = 10_000): Promise<void> => {
    const match = (s: string): boolean => (typeof pattern === 'string' ? s.includes(pattern) : pattern.test(s))
    if (match(text)) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const w = { match, resolve: () => { clearTimeout(timer); resolve() } }
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(w), 1)
        reject(new Error(`edge did not log ${String(pattern)} within ${timeoutMs} ms; log:\n${text}`))
      }, timeoutMs)
      waiters.push(w)
    })
  }
  const exited = once(child, 'exit')
  const started = waitForLog(' started with ')
  await Promise.race([started, exited.then(() => { throw new Error(`edge exited at start:\n${text}`) })])
  return {
    child,
    dir,
    log: () => text,
    waitForLog,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const t = setTimeout(() => child.kill('SIGKILL'), 5000)
        await exited
        clearTimeout(t)
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export interface LiveEdge {
  readonly edge: EdgeProcess
  readonly rtmpPort: number
  readonly httpPort: number
}

export interface LiveEdgeOptions {
  /** lines in `events {}` (worker_connections for the floods) */
  readonly events?: string
  /** extra lines in the rtmp `server {}`, before the application */
  readonly server?: string
  /** extra lines in `application live {}`, after `live on;` */
  readonly app?: string
  /**
   * HTTP-FLV locations: path → what follows `flv_live 127.0.0.1:<rtmp port>` up to its `;`
   * (default `{ '/flv': '' }`)
   */
  readonly flv?: Readonly<Record<string, string>>
}

/**
 * An edge on free ports, both listening on 127.0.0.1: one RTMP `application live` and the
 * given HTTP-FLV locations. Stopped in t's teardown.
 */
export async function startLiveEdge(t: Test, opts: LiveEdgeOptions = {}): Promise<LiveEdge> {
  const rtmpPort = await freePort()
  const httpPort = await freePort()
  const rtmp = `127.0.0.1:${rtmpPort}`
  const locations = Object.entries(opts.flv ?? { '/flv': '' })
    .map(([path, args]) => `        location ${path} { flv_live ${rtmp}${args === '' ? '' : ` ${args}`}; }`)
  const edge = await startEdge(`events { ${opts.events ?? ''} }
rtmp {
    server {
        listen ${rtmp};
        ${opts.server ?? ''}
        application live {
            live on;
            ${opts.app ?? ''}
        }
    }
}
http {
    server {
        listen 127.0.0.1:${httpPort};
${locations.join('\n')}
    }
}
`)
  t.teardown(() => edge.stop())
  return { edge, rtmpPort, httpPort }
}

/**
 * The node of the bad-input tests (test/rtmp/robustness, test/http/robustness): handshake
 * `timeout 3s`, `max_message 1m`, HTTP-FLV of app live at /flv.
 */
export const BAD_INPUT_EDGE: LiveEdgeOptions = { server: 'timeout 3s;\n        max_message 1m;', flv: { '/flv': 'app=live' } }

/**
 * publish() into rtmp://127.0.0.1:<rtmpPort>/live/<name>, stopped in t's teardown. Resolves
 * once `edge` logs the publish; rejects after `timeoutMs`.
 */
export async function publishLive(t: Test, edge: EdgeProcess, rtmpPort: number, timeoutMs: number, name = 's1'): Promise<Publisher> {
  const publisher = publish(`rtmp://127.0.0.1:${rtmpPort}/live/${name}`)
  t.teardown(() => publisher.stop())
  await edge.waitForLog(`publish: name='${name}'`, timeoutMs)
  return publisher
}

export interface Publisher {
  readonly child: ChildProcess
  stop(): Promise<void>
}

/** ffmpeg looping the test media into `url` in real time (`-re -stream_loop -1 -c copy`). */
export function publish(url: string, extraArgs: readonly string[] = []): Publisher {
  const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', TEST_MEDIA,
    '-c', 'copy', ...extraArgs, '-f', 'flv', url], { stdio: ['ignore', 'ignore', 'ignore'] })
  const exited = once(child, 'exit')
  return {
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL')
        await exited
      }
    },
  }
}

/** python3 holds the listening socket of unacceptingPort() (node:net always accepts). */
const PYTHON3 = '/usr/bin/python3'
/** how long unacceptingPort() waits for its socket to be listening and full */
const UNACCEPTING_READY_MS = 5000

/** Why unacceptingPort() cannot run here, or false. */
export function unacceptingMissing(): string | false {
  return existsSync(PYTHON3) ? false : `not installed: ${PYTHON3}`
}

/**
 * A port on 127.0.0.1 where a TCP connect never completes: a socket listens with backlog 0 and
 * never accepts, and one connection made here fills its queue, so Linux drops every later SYN
 * and the connecting side waits (as for an origin behind a black hole). Closed in t's teardown.
 */
export async function unacceptingPort(t: Test): Promise<number> {
  const child = spawn(PYTHON3, ['-c', [
    'import socket, sys',
    's = socket.socket()',
    "s.bind(('127.0.0.1', 0))",
    's.listen(0)',
    'print(s.getsockname()[1], flush=True)',
    'sys.stdin.read()',
  ].join('\n')], { stdio: ['pipe', 'pipe', 'ignore'] })
  t.teardown(() => { child.kill('SIGKILL') })
  const [line] = await once(child.stdout as NodeJS.ReadableStream, 'data', { signal: AbortSignal.timeout(UNACCEPTING_READY_MS) }) as [Buffer]
  const port = Number(line.toString().trim())
  const filler = createConnection({ host: '127.0.0.1', port })
  t.teardown(() => { filler.destroy() })
  await once(filler, 'connect', { signal: AbortSignal.timeout(UNACCEPTING_READY_MS) })
  return port
}
