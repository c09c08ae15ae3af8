// Issue 9 (part 4), fault group 1, RTMP side: connection floods. An edge with `timeout 2s` in
// its rtmp server (the handshake timeout, §1.5); a witness stream published by ffmpeg and
// played over HTTP-FLV (test/helpers/witness.ts). Each subtest:
//   - opens its flood at once: 500 TCP connections that send nothing, or 300 that send C0 and
//     C1 (one RTMP handshake's first half) and then nothing;
//   - every one of them is closed by the edge between `timeout` and `timeout` + 1.5 s after it
//     opened, with exactly one `close: handshake timed out` log line;
//   - the witness received media all through, with no gap over 1 s;
//   - once they are closed, the edge holds exactly the descriptors it held before the flood,
//     and its RSS is within 20 MiB of what it was.
import { once } from 'node:events'
import { connect } from 'node:net'
import t, { type Test } from 'tap'
import { startLiveEdge, type LiveEdge } from '../helpers/node.js'
import {

  allClosed, baseline, expectBaseline, linesByPeerPort, MiB, RssPeak, track, wallMs, Witness, type Tracked,
} from '../helpers/witness.js'

/** room for the whole flood: past worker_connections the node refuses connections (as nginx) */
const FLOOD_WORKER_CONNECTIONS = 'worker_connections 4096;'

/** the rtmp server's `timeout`: a handshake not finished by then is closed */
const TIMEOUT_MS = 2000
/** a flood connection may close this much after `timeout` (500 timers firing together, on shared cores) */
const CLOSE_LATE_MS = 1500
/**
 * and this much before it: the edge arms its timer when it accepts, which can come before the
 * test's own `connect` event for that socket while the test is opening hundreds of them
 */
const CLOSE_EARLY_MS = 250
const IDLE_CONNECTIONS = 500
const HALF_HANDSHAKES = 300
/** RTMP 5.2: C0 (version 3) and C1 (1536 bytes: time, zero, random) */
const C0C1 = Buffer.concat([Buffer.from([3]), Buffer.alloc(1536, 0x5a)])
/** S0 + S1 + S2: what a server answers to C0 C1 */
const S0S1S2_BYTES = 1 + 1536 + 1536
/** RSS during the flood may stand this much above the baseline (sockets, sessions, log lines) */
const FLOOD_RSS_BYTES = 30 * MiB

let node: LiveEdge
let witness: Witness

// Set up in t.before, not at top level: tap ends a root test that awaits between assertions.
t.before(async () => {
  node = await startLiveEdge(t, { events: FLOOD_WORKER_CONNECTIONS, server: `timeout ${TIMEOUT_MS / 1000}s;`, flv: { '/flv': '' } })
  witness = await Witness.start(t, node.edge, node.rtmpPort, node.httpPort)
})

/** Open `n` connections to the RTMP port at once; `onOpen` runs on each as it connects. */
async function flood(t: Test, n: number, onOpen: (tr: Tracked) => void): Promise<Tracked[]> {
  return Promise.all(Array.from({ length: n }, async () => {
    const socket = connect(node.rtmpPort, '127.0.0.1')
    t.teardown(() => { socket.destroy() })
    socket.on('error', () => {})
    await once(socket, 'connect', { signal: AbortSignal.timeout(10_000) })
    const tr = track(socket)
    // read whatever comes (S0 S1 S2), so the server's FIN is seen as soon as it arrives
    socket.resume()
    onOpen(tr)
    return tr
  }))
}

/** Each flood connection: closed by the edge in [timeout − early, timeout + late], one log line. */
function expectClosedAtTimeout(t: Test, list: readonly Tracked[], what: string): void {
  const held = list.map((x) => (x.closedAt as number) - x.openedAt)
  const early = held.filter((ms) => ms < TIMEOUT_MS - CLOSE_EARLY_MS)
  const late = held.filter((ms) => ms > TIMEOUT_MS + CLOSE_LATE_MS)
  t.same({ early: early.length, late: late.length }, { early: 0, late: 0 },
    `each of the ${list.length} ${what} was closed ${Math.round(Math.min(...held))}–${Math.round(Math.max(...held))} ms after it opened ` +
    `(timeout ${TIMEOUT_MS} ms, allowed ${TIMEOUT_MS - CLOSE_EARLY_MS}–${TIMEOUT_MS + CLOSE_LATE_MS})`)
  const byPort = linesByPeerPort(node.edge.log())
  const wrong = list.filter((x) => {
    const closes = (byPort.get(x.localPort) ?? []).filter((l) => / close: /.test(l))
    return closes.length !== 1 || !/ close: handshake timed out/.test(closes[0])
  })
  t.equal(wrong.length, 0, `each has exactly one "close: handshake timed out" line${wrong.length > 0
    ? `; not so for port ${wrong[0].localPort}: ${JSON.stringify(byPort.get(wrong[0].localPort) ?? [])}` : ''}`)
}

t.test(`${IDLE_CONNECTIONS} idle TCP connections to the RTMP port`, async (t) => {
  const { base, fds } = baseline(node.edge)
  const pid = node.edge.child.pid as number
  const rss = new RssPeak(pid)
  const from = wallMs()
  const list = await flood(t, IDLE_CONNECTIONS, () => {})
  await allClosed(list, TIMEOUT_MS + CLOSE_LATE_MS + 2000, 'idle connections')
  const peak = rss.stop()
  expectClosedAtTimeout(t, list, 'idle connections')
  t.ok(peak <= base.rssBytes + FLOOD_RSS_BYTES, `edge RSS peaked at +${((peak - base.rssBytes) / MiB).toFixed(1)} MiB during the flood`)
  await witness.expectFlowing(t, from)
  await expectBaseline(t, node.edge, base, fds)
})

t.test(`${HALF_HANDSHAKES} half handshakes (C0 C1, then nothing)`, async (t) => {
  const { base, fds } = baseline(node.edge)
  const pid = node.edge.child.pid as number
  const rss = new RssPeak(pid)
  const from = wallMs()
  const received = new Map<Tracked, number>()
  const list = await flood(t, HALF_HANDSHAKES, (tr) => {
    received.set(tr, 0)
    tr.socket.on('data', (d: Buffer) => received.set(tr, (received.get(tr) ?? 0) + d.length))
    tr.socket.write(C0C1)
  })
  await allClosed(list, TIMEOUT_MS + CLOSE_LATE_MS + 2000, 'half handshakes')
  const peak = rss.stop()
  const answered = list.filter((x) => received.get(x) === S0S1S2_BYTES).length
  t.equal(answered, list.length, `each was answered S0 S1 S2 (${S0S1S2_BYTES} bytes) and waited for C2`)
  expectClosedAtTimeout(t, list, 'half handshakes')
  t.ok(peak <= base.rssBytes + FLOOD_RSS_BYTES, `edge RSS peaked at +${((peak - base.rssBytes) / MiB).toFixed(1)} MiB during the flood`)
  await witness.expectFlowing(t, from)
  await expectBaseline(t, node.edge, base, fds)
})

t.test('the floods reached no internal error', async (t) => {
  t.notMatch(node.edge.log(), /\[(alert|crit|emerg)\]|internal error/, 'no [alert], [crit] or internal error lines')
  t.equal(node.edge.child.exitCode, null, 'edge is still running')
})
