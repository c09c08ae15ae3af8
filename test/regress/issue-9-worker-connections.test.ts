// Issue 9: worker_connections was ignored, so nothing capped the connections one node holds.
// nginx counts its listening sockets too; past the limit it logs "N worker_connections are
// not enough" and closes the new connection (ngx_event_accept). The ones it holds go on.
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import t from 'tap'
import { freePort, startEdge } from '../helpers/node.js'

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
  t.equal(held.slice(0, -1).filter((s) => s.destroyed).length, 0, 'the connections held before stay open')

  held[0].destroy()
  await edge.waitForLog(/close: [^\n]*\n/, WAIT_MS)
  const again = connect(rtmp, '127.0.0.1')
  held.push(again)
  await once(again, 'connect')
  await edge.waitForLog(new RegExp(`(client connected[^]*){${(LIMIT - LISTENERS) / 2 + 1}}`), WAIT_MS)
  t.equal(again.destroyed, false, 'a slot freed is taken again')
})
