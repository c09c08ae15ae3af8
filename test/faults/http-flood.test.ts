// Issue 9 (part 4), fault group 1, HTTP side: 500 idle TCP connections to the HTTP port and
// 100 slowloris clients (a request head trickled a byte at a time, never finished), both at
// once, against an edge with a witness stream (test/helpers/witness.ts). Asserted:
//   - every one of them is closed by the edge within the client header timeout (+ 2 s) of
//     opening, whatever the slowloris clients trickle (the timeout bounds the whole head, as
//     nginx's client_header_timeout does: it is not restarted by each byte);
//   - the witness received media all through, with no gap over 1 s;
//   - once they are closed, the edge holds exactly the descriptors it held before, and its RSS
//     is within 20 MiB of what it was.
//
// The bound is the one edge applies today: HTTP_HEADER_TIMEOUT_MS, nginx's default
// client_header_timeout (60 s). edge accepts `client_header_timeout` in the conf but does not
// act on it (it is named in the start-up warning of directives not implemented), so no short
// value can be configured and this file runs for a little over a minute. Once the directive
// is honoured, set it short in the conf below and use it as the bound.
import { once } from 'node:events'
import { connect } from 'node:net'
import t, { type Test } from 'tap'
import { HTTP_HEADER_TIMEOUT_MS } from '../../lib/http/server.js'
import { startLiveEdge, type LiveEdge } from '../helpers/node.js'
import { allClosed, baseline, expectBaseline, MiB, RssPeak, track, wallMs, Witness, type Tracked } from '../helpers/witness.js'

/** room for the whole flood: past worker_connections the node refuses connections (as nginx) */
const FLOOD_WORKER_CONNECTIONS = 'worker_connections 4096;'


/** how far past the header timeout a connection may still be open */
const CLOSE_LATE_MS = 2000
/** the edge arms the timer when it accepts, which may precede the test's `connect` event */
const CLOSE_EARLY_MS = 250
const IDLE_CONNECTIONS = 500
const SLOWLORIS_CLIENTS = 100
/** a slowloris client writes one more header byte this often */
const TRICKLE_MS = 500
/** RSS during the flood may stand this much above the baseline */
const FLOOD_RSS_BYTES = 30 * MiB

let node: LiveEdge
let witness: Witness

t.before(async () => {
  node = await startLiveEdge(t, { events: FLOOD_WORKER_CONNECTIONS, server: 'timeout 2s;', flv: { '/flv': '' } })
  witness = await Witness.start(t, node.edge, node.rtmpPort, node.httpPort)
})

async function open(t: Test): Promise<Tracked> {
  const socket = connect(node.httpPort, '127.0.0.1')
  t.teardown(() => { socket.destroy() })
  socket.on('error', () => {})
  await once(socket, 'connect', { signal: AbortSignal.timeout(10_000) })
  socket.resume()
  return track(socket)
}

t.test(`${IDLE_CONNECTIONS} idle connections and ${SLOWLORIS_CLIENTS} slowloris clients on the HTTP port`, {
  timeout: HTTP_HEADER_TIMEOUT_MS + 30_000,
}, async (t) => {
  const { base, fds } = baseline(node.edge)
  const pid = node.edge.child.pid as number
  const rss = new RssPeak(pid, 500)
  const from = wallMs()
  const idle = await Promise.all(Array.from({ length: IDLE_CONNECTIONS }, () => open(t)))
  const slow = await Promise.all(Array.from({ length: SLOWLORIS_CLIENTS }, async (_, i) => {
    const tr = await open(t)
    // a head that could be a real play request, stopped inside a header value
    tr.socket.write(`GET /flv/${witness.name}.flv?app=live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow-${i}: `)
    return tr
  }))
  let trickled = 0
  const trickle = setInterval(() => {
    for (const s of slow) {
      if (s.closedAt !== null) continue
      s.socket.write('x')
      trickled++
    }
  }, TRICKLE_MS)
  t.teardown(() => clearInterval(trickle))

  const all = [...idle, ...slow]
  await allClosed(all, HTTP_HEADER_TIMEOUT_MS + CLOSE_LATE_MS + 5000, 'flood connections')
  clearInterval(trickle)
  const peak = rss.stop()

  for (const [list, what] of [[idle, 'idle connections'], [slow, 'slowloris clients']] as const) {
    const held = list.map((x) => (x.closedAt as number) - x.openedAt)
    const late = held.filter((ms) => ms > HTTP_HEADER_TIMEOUT_MS + CLOSE_LATE_MS).length
    const early = held.filter((ms) => ms < HTTP_HEADER_TIMEOUT_MS - CLOSE_EARLY_MS).length
    t.same({ early, late }, { early: 0, late: 0 },
      `each of the ${list.length} ${what} was closed ${Math.round(Math.min(...held))}–${Math.round(Math.max(...held))} ms after it opened ` +
      `(header timeout ${HTTP_HEADER_TIMEOUT_MS} ms, allowed up to +${CLOSE_LATE_MS})`)
  }
  t.ok(trickled >= SLOWLORIS_CLIENTS * (HTTP_HEADER_TIMEOUT_MS / TRICKLE_MS - 2),
    `the slowloris clients trickled ${trickled} header bytes meanwhile (the timer is not restarted by them)`)
  t.ok(peak <= base.rssBytes + FLOOD_RSS_BYTES, `edge RSS peaked at +${((peak - base.rssBytes) / MiB).toFixed(1)} MiB during the flood`)
  await witness.expectFlowing(t, from)
  await expectBaseline(t, node.edge, base, fds)
  t.notMatch(node.edge.log(), /\[(alert|crit|emerg)\]|internal error/, 'no [alert], [crit] or internal error lines')
})
