// Debian's nginx with its RTMP module (libnginx-mod-rtmp, nginx-rtmp 1.2.x) as a reference
// origin: started by PID in the foreground, config and logs in a temp dir, ready once nginx has
// logged its rlimits (after it opened its listening sockets), killed and cleaned in teardown.
import { spawn } from 'node:child_process'
import { EventEmitter, on, once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { freePort } from './node.js'

export const NGINX = '/usr/sbin/nginx'
export const NGINX_RTMP_MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so'
/** bound on nginx starting up */
const NGINX_START_MS = 10_000

/** A tap `skip` value: false when nginx and its RTMP module are installed, else the reason. */
export function nginxRtmpMissing(): string | false {
  const absent = [NGINX, NGINX_RTMP_MODULE].filter((p) => !existsSync(p))
  return absent.length === 0 ? false : `not installed: ${absent.join(', ')}`
}

export interface NginxRtmp {
  readonly port: number
  readonly dir: string
  /** the error_log file (level info: nginx-rtmp's connect/play/publish lines) */
  errorLog(): string
}

/**
 * Starts `nginx -p <tmp> -c <tmp>/nginx.conf -g 'daemon off; master_process off;'` with an
 * `rtmp { server { listen 127.0.0.1:<free port>; <apps> } }` block. Stopped in t's teardown.
 */
export async function startNginxRtmp(t: Test, apps = 'application live { live on; }'): Promise<NginxRtmp> {
  const port = await freePort() // released before nginx binds it: a small race, accepted
  const dir = mkdtempSync(join(tmpdir(), 'edge-nginx-rtmp-'))
  const errorLog = join(dir, 'error.log')
  writeFileSync(join(dir, 'nginx.conf'), [
    `pid ${join(dir, 'nginx.pid')};`,
    `load_module ${NGINX_RTMP_MODULE};`,
    `error_log ${errorLog} info;`,
    // the same lines on stderr, so that readiness is an event rather than a poll of the file
    'error_log stderr notice;',
    'events { worker_connections 64; }',
    `rtmp { server { listen 127.0.0.1:${port}; ${apps} } }`,
    '',
  ].join('\n'))
  const child = spawn(NGINX, ['-p', dir, '-e', 'stderr', '-c', join(dir, 'nginx.conf'), '-g', 'daemon off; master_process off;'],
    { stdio: ['ignore', 'ignore', 'pipe'] })
  const events = new EventEmitter()
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
    events.emit('stderr')
  })
  const exited = once(child, 'exit')
  // an early exit fails the start-up wait; later, the test's own assertions tell
  const report = (err: Error): void => { if (events.listenerCount('error') > 0) events.emit('error', err) }
  const onExit = (code: number | null, signal: string | null): void => report(new Error(`nginx exited (${code ?? signal}):\n${stderr}`))
  child.on('exit', onExit)
  child.on('error', report)
  t.teardown(async () => {
    child.off('exit', onExit)
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid, 'SIGKILL')
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  })
  // nginx logs its rlimits once the listening sockets are open
  if (!/getrlimit/.test(stderr)) {
    for await (const _ of on(events, 'stderr', { signal: AbortSignal.timeout(NGINX_START_MS) })) {
      if (/getrlimit/.test(stderr)) break
    }
  }
  return { port, dir, errorLog: () => (existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : '') }
}
