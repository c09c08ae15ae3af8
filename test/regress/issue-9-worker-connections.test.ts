// Issue 9: worker_connections was ignored, so nothing capped the connections one node holds.
// nginx counts its listening sockets too; past the limit it logs "N worker_connections are
// not enough" and closes the new connection (ngx_event_accept). The ones it holds go on.
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { HTTP_LINGERING_TIMEOUT_MS } from '../../lib/http/server.js'
import { fixturesDir } from '../helpers/edge.js'
import { freePort, startEdge } from '../helpers/node.js'
import { pollUntil, procSample } from '../helpers/witness.js'

const LIMIT = 8
/** one RTMP and one HTTP listener */
const LISTENERS = 2
const WAIT_MS = 5000

t.test('connections past worker_connections are closed with nginx\'s alert; the others stay', async (t) => {
  const rtmp = await freePort()
  const http = await freePort()
  const edge = await startEdge(`events { worker_connections ${LIMIT}; }
rtmp { server { listen 127.0.0.1:${rtmp}; application live { live on; } } }
http { server { listen 127.0.0.1:${http}; location /flv { flv_live 127.0.0.1:${rtmp}; } } }
`)
  t.teardown(() => edge.stop())
  const held: Socket[] = []
  t.teardown(() => { for (const s of held) s.destroy() })
  for (let i = 0; i < LIMIT - LISTENERS; i++) {
    const s = connect(i % 2 === 0 ? rtmp : http, '127.0.0.1')
    held.push(s)
    await once(s, 'connect')
  }
  await edge.waitForLog(new RegExp(`(client connected[^]*){${(LIMIT - LISTENERS) / 2}}`), WAIT_MS)
  const extra = connect(http, '127.0.0.1')
  held.push(extra)
  await once(extra, 'close', { signal: AbortSignal.timeout(WAIT_MS) })
  await edge.waitForLog(`[alert] ${edge.child.pid}#0: ${LIMIT} worker_connections are not enough, client: 127.0.0.1`, WAIT_MS)
  // each connection held before answers: C0+C1 gets S0+S1, a request gets a response
  await Promise.all(held.slice(0, -1).map(async (s, i) => {
    const answered = once(s, 'data', { signal: AbortSignal.timeout(WAIT_MS) })
    s.write(i % 2 === 0 ? Buffer.alloc(1 + 1536, 3) : 'GET /none HTTP/1.1\r\nHost: a\r\n\r\n')
    await answered
  }))
  t.pass('the connections held before stay open and answer')

  held[0].destroy()
  await edge.waitForLog(/close: [^\n]*\n/, WAIT_MS)
  const again = connect(rtmp, '127.0.0.1')
  held.push(again)
  await once(again, 'connect')
  await edge.waitForLog(new RegExp(`(client connected[^]*){${(LIMIT - LISTENERS) / 2 + 1}}`), WAIT_MS)
  t.equal(again.destroyed, false, 'a slot freed is taken again')
})

t.test('https: a TCP connection counts from accept, before its TLS handshake', async (t) => {
  const https = await freePort()
  const tls = join(fixturesDir, 'tls')
  const edge = await startEdge(`events { worker_connections 4; }
http { server { listen 127.0.0.1:${https} ssl; ssl_certificate ${tls}/cert.pem; ssl_certificate_key ${tls}/key.pem; } }
`)
  t.teardown(() => edge.stop())
  const held: Socket[] = []
  t.teardown(() => { for (const s of held) s.destroy() })
  // one listener: three raw connections that never start a handshake fill the node
  for (let i = 0; i < 3; i++) {
    const s = connect(https, '127.0.0.1')
    held.push(s)
    await once(s, 'connect')
  }
  const extra = connect(https, '127.0.0.1')
  held.push(extra)
  await once(extra, 'close', { signal: AbortSignal.timeout(WAIT_MS) })
  await edge.waitForLog('4 worker_connections are not enough', WAIT_MS)
})

t.test('a client that keeps a Connection: close response open is closed after lingering_timeout', async (t) => {
  const http = await freePort()
  const edge = await startEdge(`events {}\nhttp { server { listen 127.0.0.1:${http}; } }\n`)
  t.teardown(() => edge.stop())
  const fds = (): number => procSample(edge.child.pid as number).fds
  const before = fds()
  // half-open allowed: the client's side stays open after the server's FIN, as a client that
  // never closes; the server's close is seen in its descriptors
  const s = connect({ port: http, host: '127.0.0.1', allowHalfOpen: true })
  t.teardown(() => { s.destroy() })
  await once(s, 'connect')
  s.write('GET /nothing-here HTTP/1.0\r\n\r\n')
  s.resume()
  await once(s, 'end', { signal: AbortSignal.timeout(WAIT_MS) })
  const ended = Date.now()
  t.equal(fds(), before + 1, 'the node holds the connection after its response')
  t.ok(await pollUntil(() => fds() === before, HTTP_LINGERING_TIMEOUT_MS + WAIT_MS), 'the node closed it')
  t.ok(Date.now() - ended >= HTTP_LINGERING_TIMEOUT_MS - 100, 'not before lingering_timeout')
})
