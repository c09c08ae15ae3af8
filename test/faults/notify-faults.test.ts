// Issue 9 (part 4), fault group 6: notify server faults with `on_pull` (the notification edge
// implements). One edge with `relay_reconnect 2s` and an application per misbehaving notify
// server (`on_pull http://127.0.0.1:<port>/pull timeout=2s`), and a witness stream published
// into application live by ffmpeg and played over HTTP-FLV (test/helpers/witness.ts). In each
// subtest an RTMP player plays a stream of the faulty application, so the edge asks the notify
// server where to pull it from; asserted:
//   - the edge keeps asking (a notify failure is retried, §3.4), and closes each connection to
//     the notify server in bounded time; the player waits, connected;
//   - the witness received media all through, with no gap over 1 s;
//   - the failure is logged as one line;
//   - once the player has left, every connection to the notify server is closed, the edge
//     holds exactly the descriptors it held before, and its RSS is within 20 MiB of what it was.
//
// The garbage subtest guards a bug found while writing it (fixed in issue 9): the log wrote
// the first line of a bad answer as it came (`on_pull start: no answer: invalid status line "<bytes>"`),
// control characters and a bare LF included, so a notify server could break a log entry in
// two or forge whole log lines.
import t, { type Test } from 'tap'
import { MSG_AUDIO, MSG_VIDEO } from '../../lib/rtmp/constants.js'
import { ScriptedServer, startScripted, type Script, type ScriptedConnection } from '../helpers/fault-origins.js'
import { startLiveEdge, type LiveEdge } from '../helpers/node.js'
import { statuses } from '../helpers/pull-scenarios.js'
import { RtmpTestClient } from '../helpers/rtmp-client.js'
import { prng } from '../helpers/unit.js'
import { baseline, expectBaseline, logEntries, wallMs, Witness } from '../helpers/witness.js'

/** on_pull timeout= and relay_reconnect: an unanswered request is given up after this */
const NOTIFY_TIMEOUT_MS = 2000
/** how far past its bound the edge may close a notify connection */
const LATE_MS = 1500
/** requests to see before judging: the first and two retries */
const REQUESTS = 3
/** bound on those requests arriving (two deadlines of a silent server, with margins) */
const REQUESTS_WAIT_MS = REQUESTS * (NOTIFY_TIMEOUT_MS + LATE_MS)
/** bound on the notify connections closing once the player has left */
const CLOSE_WAIT_MS = NOTIFY_TIMEOUT_MS + LATE_MS + 1000

/** Run `answer` on each complete request head (the request line and headers; GET has no body). */
function onRequest(answer: (conn: ScriptedConnection) => void): Script {
  return (conn) => {
    let head = ''
    let answered = false
    conn.socket.setEncoding('latin1')
    conn.socket.on('data', (d: string) => {
      head += d
      if (answered || !head.includes('\r\n\r\n')) return
      answered = true
      answer(conn)
    })
  }
}

const notifyServers = {
  /** reads the request and never answers */
  nhang: onRequest(() => {}),
  /** resets the connection (RST) once the request has arrived */
  nreset: onRequest((conn) => {
    conn.closedByUs = true
    conn.socket.resetAndDestroy()
  }),
  /** answers 512 bytes of noise and a blank line, and keeps the connection open */
  ngarbage: onRequest((conn) => {
    const rand = prng(0x6a7ba6e)
    ScriptedServer.write(conn, Buffer.concat([Buffer.from(Array.from({ length: 512 }, () => Math.floor(rand() * 256))), Buffer.from('\r\n\r\n')]))
  }),
} as const
type NotifyName = keyof typeof notifyServers

let node: LiveEdge
let witness: Witness
let servers: Record<NotifyName, ScriptedServer>

t.before(async () => {
  const started = await startScripted(t, notifyServers,
    (name, port) => `application ${name} { live on; on_pull http://127.0.0.1:${port}/pull timeout=${NOTIFY_TIMEOUT_MS / 1000}s; }`)
  servers = started.servers
  const apps = started.apps
  node = await startLiveEdge(t, {
    server: `timeout 2s;\n        relay_reconnect ${NOTIFY_TIMEOUT_MS / 1000}s;\n        ${apps}`,
    flv: { '/flv': '' },
  })
  witness = await Witness.start(t, node.edge, node.rtmpPort, node.httpPort)
})

const mediaCount = (p: RtmpTestClient): number => p.messages.reduce((n, m) => n + (m.typeId === MSG_AUDIO || m.typeId === MSG_VIDEO ? 1 : 0), 0)

for (const [app, what, boundMs, logged] of [
  ['nhang', 'never answers', NOTIFY_TIMEOUT_MS + LATE_MS, /pull: relay timeout|on_pull start: no answer: timed out/],
  ['nreset', 'resets the connection', LATE_MS, /\[error\] .*on_pull start: no answer: \w+\(\) failed \(104: Connection reset by peer\)/],
  ['ngarbage', 'answers garbage', LATE_MS, /\[error\] .*on_pull start: no answer: invalid status line/],
] as const) {
  t.test(`the on_pull server ${what}: asked again, the player waits, nothing leaks`, async (t: Test) => {
    const base = baseline(node.edge)
    const server = servers[app]
    const from = wallMs()
    const p = await RtmpTestClient.open(node.rtmpPort)
    t.teardown(() => p.close())
    await p.connectApp(app, {}, node.rtmpPort)
    t.equal(RtmpTestClient.code(await p.play('s1')), 'NetStream.Play.Start', 'the player is told Play.Start')
    await server.connection(REQUESTS - 1, REQUESTS_WAIT_MS)
    const first = server.connections.slice(0, REQUESTS - 1)
    for (const c of first) await server.closed(c, boundMs)
    const held = first.map((c) => (c.closedAt === null ? Infinity : Math.round(c.closedAt - c.openedAt)))
    t.ok(held.every((ms) => ms <= boundMs), `the first connections were closed ${held.join(', ')} ms after they opened (bound ${boundMs})`)
    t.pass(`and ${server.connections.length} requests arrived: the edge keeps asking`)
    const entry = logEntries(node.edge.log()).find((e) => e.includes(`app: ${app},`) && logged.test(e))
    t.ok(entry !== undefined, `the failure was logged: ${JSON.stringify(entry ?? null)}`)
    // a peer's bytes are not written into the log as they came: one failure, one line
    t.notMatch(entry ?? '', /[\x00-\x1f\x7f]/, 'as one line, with no control characters from the peer in it')
    t.notOk(p.closed, 'the player waits, connected')
    t.same(statuses(p).map((s) => s.code), ['NetStream.Play.Start'], 'with no other status')
    t.equal(mediaCount(p), 0, 'and no media')

    await witness.expectFlowing(t, from)
    await p.close()
    await node.edge.waitForLog(new RegExp(`pull: stopped: [^\\n]*app: ${app}, name: s1`), CLOSE_WAIT_MS)
    t.ok(await server.allClosed(CLOSE_WAIT_MS), `no connection to the notify server remains once the player has left (${server.connections.length} seen)`)
    await expectBaseline(t, node.edge, base.base, base.fds)
    t.notMatch(node.edge.log(), /\[(alert|crit|emerg)\]|internal error/, 'no [alert], [crit] or internal error lines')
  })
}
