// Issue 9: signals as nginx documents them. SIGHUP killed the node (no handler) and SIGUSR1
// opened Node's inspector on 127.0.0.1:9229. Now HUP re-reads the config and applies it to
// what comes next while live streams, players and pulls go on; an invalid config is refused
// and the node keeps serving; USR1 reopens the log files; the inspector is never reachable.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { edgeBin } from '../helpers/edge.js'
import { freePort, publish, startEdge, type EdgeProcess } from '../helpers/node.js'
import { RtmpTestClient } from '../helpers/rtmp-client.js'

const PLAYERS = 500
const WAIT_MS = 20_000

/** `edge -s <signal> -c <file>`: exit code and stderr */
async function signal(file: string, name: string): Promise<{ code: number | null, stderr: string }> {
  const child = spawn(process.execPath, [edgeBin, '-s', name, '-c', file], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  const [code] = await once(child, 'exit', { signal: AbortSignal.timeout(WAIT_MS) }) as [number | null]
  return { code, stderr }
}

/** The node's own config file: startEdge's header lines, then `body`. */
function rewrite(edge: EdgeProcess, body: string): string {
  const file = join(edge.dir, 'nginx.conf')
  const header = readFileSync(file, 'utf8').split('\n').slice(0, 3).join('\n')
  writeFileSync(file, `${header}\n${body}`)
  return file
}

/** A TCP server that counts the connections it gets (an origin edge must not reach yet). */
async function countingServer(t: { teardown(fn: () => void): void }): Promise<{ port: number, connections: () => number, server: Server }> {
  let n = 0
  const sockets = new Set<Socket>()
  const server = createServer((s) => { n++; sockets.add(s); server.emit('change') })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { for (const s of sockets) s.destroy(); server.close() })
  return { port: (server.address() as { port: number }).port, connections: () => n, server }
}

/** Resolves once cond() holds, checked on every `change` of the server; bounded. */
async function until(ee: Server, cond: () => boolean, what: string): Promise<void> {
  const signal = AbortSignal.timeout(WAIT_MS)
  while (!cond()) {
    await once(ee, 'change', { signal }).catch(() => { throw new Error(`timed out waiting for ${what}`) })
  }
}

/** A raw HTTP-FLV player counting the bytes it reads; the `change` of `board` tells a test. */
class Players {
  readonly board = createServer()
  readonly bytes: number[] = []
  readonly closed: boolean[] = []
  private readonly sockets: Socket[] = []

  open(port: number, path: string, n: number): void {
    for (let i = 0; i < n; i++) {
      const s = connect(port, '127.0.0.1')
      this.bytes.push(0)
      this.closed.push(false)
      this.sockets.push(s)
      s.on('connect', () => s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`))
      s.on('data', (d: Buffer) => { this.bytes[i] += d.length; this.board.emit('change') })
      s.on('error', () => {})
      s.on('close', () => { this.closed[i] = true; this.board.emit('change') })
    }
  }

  close(): void {
    for (const s of this.sockets) s.destroy()
  }
}

function edgeConf(o: { rtmp: number[], http: number, pullPort: number, gone: boolean }): string {
  return `events { worker_connections 2048; }
rtmp {
    server {
        ${o.rtmp.map((p) => `listen 127.0.0.1:${p};`).join('\n        ')}
        application live {
            live on;
            pull rtmp://127.0.0.1:${o.pullPort}/live;
        }
        ${o.gone ? 'application gone { live on; }' : ''}
    }
}
http {
    server {
        listen 127.0.0.1:${o.http};
        location /flv { flv_live 127.0.0.1:${o.rtmp[0]} app=live; }
    }
}
`
}

t.test(`reload with ${PLAYERS} players on a pulled stream: nothing live is dropped, the new config is used next`, async (t) => {
  const originPort = await freePort()
  const origin = await startEdge(`events {}\nrtmp { server { listen 127.0.0.1:${originPort}; application live { live on; } } }\n`)
  t.teardown(() => origin.stop())
  const publisher = publish(`rtmp://127.0.0.1:${originPort}/live/s`)
  t.teardown(() => publisher.stop())
  await origin.waitForLog("publish: name='s'", WAIT_MS)

  const rtmpA = await freePort()
  const rtmpB = await freePort()
  const http = await freePort()
  const edge = await startEdge(edgeConf({ rtmp: [rtmpA], http, pullPort: originPort, gone: true }))
  t.teardown(() => edge.stop())

  const players = new Players()
  t.teardown(() => players.close())
  players.open(http, '/flv/s', PLAYERS)
  await until(players.board, () => players.bytes.every((b) => b > 20_000), `${PLAYERS} players receiving media`)

  const gonePublisher = await RtmpTestClient.open(rtmpA)
  t.teardown(() => gonePublisher.close())
  await gonePublisher.connectApp('gone')
  t.equal(RtmpTestClient.code(await gonePublisher.publish('g')), 'NetStream.Publish.Start')

  const origin2 = await countingServer(t)
  const file = rewrite(edge, edgeConf({ rtmp: [rtmpA, rtmpB], http, pullPort: origin2.port, gone: false }))
  const atReload = [...players.bytes]
  const r = await signal(file, 'reload')
  t.same(r, { code: 0, stderr: '' }, 'edge -s reload: exit 0')
  await edge.waitForLog('reconfigured', WAIT_MS)
  t.match(edge.log(), /signal SIGHUP received, reconfiguring/)
  t.match(edge.log(), new RegExp(`rtmp listening on 127\\.0\\.0\\.1:${rtmpB}`), 'the new listener is open')

  await gonePublisher.until(() => gonePublisher.closed, WAIT_MS, 'the publisher of the removed application closed')
  t.match(edge.log(), /application "gone" is gone after reload, stream ended/)

  await until(players.board, () => players.bytes.every((b, i) => b > atReload[i] + 20_000), 'every player receiving after the reload')
  t.equal(players.closed.filter(Boolean).length, 0, `all ${PLAYERS} players still connected`)
  t.equal(edge.log().match(/pull: publishing/g)?.length, 1, 'the running pull was not restarted')

  // the next pull uses the new URL
  const next = new Players()
  t.teardown(() => next.close())
  next.open(http, '/flv/other', 1)
  await until(origin2.server, () => origin2.connections() === 1, 'the next pull at the new origin')

  // an invalid config is refused by -s reload and by a plain SIGHUP; the node keeps serving
  rewrite(edge, 'events {}\nrtmp { server { listen 127.0.0.1:1; application live { live maybe; } } }\n')
  const bad = await signal(file, 'reload')
  t.equal(bad.code, 1, 'edge -s reload: exit 1 on an invalid config')
  t.match(bad.stderr, /^edge: \[emerg\] invalid value "maybe" in "live" directive, it must be "on" or "off" in .*nginx\.conf:5\n$/)
  edge.child.kill('SIGHUP')
  await edge.waitForLog(/\[emerg\] \d+#0: invalid value "maybe" in "live" directive, it must be "on" or "off" in \S+nginx\.conf:5\n/, WAIT_MS)
  const afterBad = [...players.bytes]
  await until(players.board, () => players.bytes.every((b, i) => b > afterBad[i] + 20_000), 'every player still receiving after the refused reload')
  t.equal(players.closed.filter(Boolean).length, 0, 'no player dropped')
  t.equal(edge.child.exitCode, null, 'the node runs')
})

t.test('USR1 reopens the log files and never opens the inspector; USR2 does not kill', async (t) => {
  const rtmp = await freePort()
  const edge = await startEdge(`events {}\nrtmp { server { listen 127.0.0.1:${rtmp}; application live { live on; } } }\n`)
  t.teardown(() => edge.stop())
  const logFile = join(edge.dir, 'logs', 'error.log')
  const file = rewrite(edge, `error_log ${logFile} info;\nevents {}\nrtmp { server { listen 127.0.0.1:${rtmp}; application live { live on; } } }\n`)
  t.same(await signal(file, 'reload'), { code: 0, stderr: '' })
  await edge.waitForLog('reconfigured', WAIT_MS)
  t.ok(existsSync(logFile), 'the reload opened the new error_log')

  const rotated = `${logFile}.1`
  renameSync(logFile, rotated)
  t.same(await signal(file, 'reopen'), { code: 0, stderr: '' }, 'edge -s reopen: exit 0')
  await edge.waitForLog('signal SIGUSR1 received, reopening logs', WAIT_MS)
  const client = await RtmpTestClient.open(rtmp)
  t.teardown(() => client.close())
  await edge.waitForLog(/client connected/, WAIT_MS)
  // each target is written in the same synchronous call that wrote stderr
  t.match(readFileSync(logFile, 'utf8'), /client connected/, 'lines after the reopen go to a new file at the configured path')
  t.match(readFileSync(rotated, 'utf8'), /signal SIGUSR1 received, reopening logs/, 'the rotated file has what came before')
  t.notMatch(readFileSync(rotated, 'utf8'), /client connected/)

  t.notMatch(edge.log(), /Debugger listening/, 'no inspector')
  const probe = connect(9229, '127.0.0.1')
  const [err] = await once(probe, 'error') as [NodeJS.ErrnoException]
  t.equal(err.code, 'ECONNREFUSED', 'nothing listens on 9229')

  edge.child.kill('SIGUSR2')
  await edge.waitForLog('signal SIGUSR2 received, binary upgrade is not supported, ignored', WAIT_MS)
  t.equal(edge.child.exitCode, null, 'the node runs')
})

t.test('a reload that cannot bind a new listener changes nothing; after QUIT no reload opens anything', async (t) => {
  const rtmp = await freePort()
  const base = `events {}\nrtmp { server { listen 127.0.0.1:${rtmp}; application live { live on; } application keep { live on; } } }\n`
  const edge = await startEdge(base)
  t.teardown(() => edge.stop())
  // connected to `keep` before the reload, publishing after a reload that failed
  const client = await RtmpTestClient.open(rtmp)
  t.teardown(() => client.close())
  await client.connectApp('keep')

  const taken = await countingServer(t)
  rewrite(edge, `events {}\nrtmp { server { listen 127.0.0.1:${rtmp}; listen 127.0.0.1:${taken.port}; application live { live on; } } }\n`)
  edge.child.kill('SIGHUP')
  await edge.waitForLog(new RegExp(`\\[emerg\\] \\d+#0: bind\\(\\) to 127\\.0\\.0\\.1:${taken.port} failed \\(98: Address already in use\\)`), WAIT_MS)
  t.notMatch(edge.log(), /reconfigured/, 'not reconfigured')
  t.equal(RtmpTestClient.code(await client.publish('k')), 'NetStream.Publish.Start', 'the application the failed reload would remove is still there')

  // connected to `keep` before the reload that removes it, publishing after it
  const early = await RtmpTestClient.open(rtmp)
  t.teardown(() => early.close())
  await early.connectApp('keep')
  rewrite(edge, `events {}\nrtmp { server { listen 127.0.0.1:${rtmp}; application live { live on; } } }\n`)
  edge.child.kill('SIGHUP')
  await edge.waitForLog('reconfigured', WAIT_MS)
  early.publish('e').catch(() => {}) // refused: no onStatus comes, the connection closes
  await early.until(() => early.closed, WAIT_MS, 'a session of the removed application refused')
  t.match(edge.log(), /application "keep" was removed by a reload/)
  const late = await RtmpTestClient.open(rtmp)
  t.teardown(() => late.close())
  await late.connectApp('live')
  await client.until(() => client.closed, WAIT_MS, 'the publisher of the removed application closed')

  edge.child.kill('SIGQUIT')
  await edge.waitForLog('signal SIGQUIT received, shutting down gracefully', WAIT_MS)
  rewrite(edge, base)
  edge.child.kill('SIGHUP')
  await edge.waitForLog('shutting down, the reload is ignored', WAIT_MS)
  const refused = connect(rtmp, '127.0.0.1')
  const [err] = await once(refused, 'error') as [NodeJS.ErrnoException]
  t.equal(err.code, 'ECONNREFUSED', 'no listener after quit, whatever HUP says')
  t.notMatch(edge.log().split('SIGQUIT')[1], /listening on|reconfigured/)
})
