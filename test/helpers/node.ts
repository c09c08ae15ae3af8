// A real edge process for network tests: a config written to a temp dir with ports picked
// free at run time, started by PID, ready once it logs "started", stopped in teardown.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { edgeBin, fixturesDir } from './edge.js'

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
  const child = spawn('env', ['-u', 'NODE_OPTIONS', process.execPath, edgeBin, '-c', file], { stdio: ['ignore', 'ignore', 'pipe'] })
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
