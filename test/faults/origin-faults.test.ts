// Issue 9 (part 4), fault group 5: origin faults for a pulled stream. One edge with
// `timeout 2s` and `relay_reconnect 2s` in its rtmp server, an application per misbehaving
// origin (`pull rtmp://127.0.0.1:<port>/live`), and a witness stream published into
// application live by ffmpeg and played over HTTP-FLV (test/helpers/witness.ts). In each
// subtest an RTMP player plays a stream of the faulty application, so the edge pulls it;
// asserted:
//   - what the fault calls for: the leg dropped in bounded time and retried, or the player
//     carried over the origin's cuts;
//   - the witness received media all through, with no gap over 1 s;
//   - once the player has left, every connection to the origin is closed, the edge holds
//     exactly the descriptors it held before, and its RSS is within 20 MiB of what it was.
//
// "origin goes silent after Play.Start" is a regression test of issue 9: a pull leg that had
// received Play.Start had no read timeout, so an origin that stopped sending held it (and its
// players) forever.
import t, { type Test } from 'tap'
import { MSG_AUDIO, MSG_VIDEO } from '../../lib/rtmp/constants.js'
import { ScriptedServer, rtmpOrigin, startScripted, trickle, type ScriptedConnection } from '../helpers/fault-origins.js'
import { startLiveEdge, type LiveEdge } from '../helpers/node.js'
import { isUserControl } from '../helpers/pull-scenarios.js'
import { RtmpTestClient } from '../helpers/rtmp-client.js'
import { prng } from '../helpers/unit.js'
import { baseline, expectBaseline, wallMs, Witness } from '../helpers/witness.js'

/** the rtmp server's `timeout` and `relay_reconnect` (each attempt's deadline) */
const TIMEOUT_MS = 2000
/** how far past its bound the edge may close an origin connection */
const LATE_MS = 1500
/** a retry after a deadline is immediate; after a fast failure it waits failed_reconnect (50 ms, doubling) */
const RETRY_WAIT_MS = 1000
/** the cutting origin serves this long per connection */
const CUT_EVERY_MS = 1000
/** bound on the player's first media through a pull */
const MEDIA_WAIT_MS = 8000
/** bound on the origin's connections closing once the player has left */
const CLOSE_WAIT_MS = 5000
/** User Control StreamBegin (RTMP 7.1.7) */
const UC_STREAM_BEGIN = 0

const origins = {
  /** serves media, cuts the connection after a second, every time */
  cut: rtmpOrigin({ serveMs: CUT_EVERY_MS, then: 'cut' }),
  /** completes the handshake, then answers connect with 4 KiB of noise */
  garbage: rtmpOrigin({
    afterHandshake: (conn) => {
      const rand = prng(0x9a4ba9e)
      ScriptedServer.write(conn, Buffer.from(Array.from({ length: 4096 }, () => Math.floor(rand() * 256))))
    },
  }),
  /** a well-behaved origin whose every byte (handshake included) goes out one per 10 ms */
  slow: rtmpOrigin({ write: trickle(10) }),
  /** completes the handshake, then never answers */
  silent: rtmpOrigin({ afterHandshake: () => {} }),
  /** Play.Start and a second of media, then nothing, the connection kept open */
  stall: rtmpOrigin({ serveMs: 1000, then: 'stall' }),
} as const
type OriginName = keyof typeof origins

let node: LiveEdge
let witness: Witness
let servers: Record<OriginName, ScriptedServer>

t.before(async () => {
  const started = await startScripted(t, origins, (name, port) => `application ${name} { live on; pull rtmp://127.0.0.1:${port}/live; }`)
  servers = started.servers
  const apps = started.apps
  node = await startLiveEdge(t, {
    server: `timeout ${TIMEOUT_MS / 1000}s;\n        relay_reconnect ${TIMEOUT_MS / 1000}s;\n        ${apps}`,
    flv: { '/flv': '' },
  })
  witness = await Witness.start(t, node.edge, node.rtmpPort, node.httpPort)
})

/** An RTMP player of <app>/s1 (Play.Start: the pull starts behind it). */
async function player(t: Test, app: OriginName): Promise<RtmpTestClient> {
  const p = await RtmpTestClient.open(node.rtmpPort)
  t.teardown(() => p.close())
  await p.connectApp(app, {}, node.rtmpPort)
  const status = await p.play('s1')
  if (RtmpTestClient.code(status) !== 'NetStream.Play.Start') throw new Error(`play ${app}/s1: ${RtmpTestClient.code(status)}`)
  return p
}

const mediaCount = (p: RtmpTestClient): number => p.messages.reduce((n, m) => n + (m.typeId === MSG_AUDIO || m.typeId === MSG_VIDEO ? 1 : 0), 0)

/** How long the edge held each origin connection (closed by the edge, not by the origin). */
function held(list: readonly ScriptedConnection[]): number[] {
  return list.filter((c) => c.closedAt !== null && !c.closedByUs).map((c) => Math.round((c.closedAt as number) - c.openedAt))
}

/** The player leaves; every origin connection closes; the witness and the edge's handles are checked. */
async function finish(t: Test, app: OriginName, p: RtmpTestClient, from: number, base: ReturnType<typeof baseline>): Promise<void> {
  await witness.expectFlowing(t, from)
  await p.close()
  t.ok(await servers[app].allClosed(CLOSE_WAIT_MS), `no connection to the ${app} origin remains once the player has left (${servers[app].connections.length} seen)`)
  await node.edge.waitForLog(new RegExp(`pull: stopped: [^\\n]*app: ${app}, name: s1`), CLOSE_WAIT_MS)
  await expectBaseline(t, node.edge, base.base, base.fds)
  t.notMatch(node.edge.log(), /\[(alert|crit|emerg)\]|internal error/, 'no [alert], [crit] or internal error lines')
}

t.test('the origin cuts the connection every second: the player carries on', async (t) => {
  const base = baseline(node.edge)
  const origin = servers.cut
  const from = wallMs()
  const p = await player(t, 'cut')
  const begins = (): number => p.messages.filter((m) => isUserControl(m, UC_STREAM_BEGIN)).length
  // media from five origin connections in turn: each starts with a StreamBegin
  await p.until(() => begins() >= 5 || p.closed, 5 * CUT_EVERY_MS + MEDIA_WAIT_MS, 'media from the fifth origin connection')
  t.equal(begins(), 5, `the player got media from 5 origin connections in turn (${mediaCount(p)} audio/video messages)`)
  t.notOk(p.closed, 'the player stayed connected through the cuts')
  const conns = origin.connections.slice(0, 5)
  const gaps = conns.slice(1).map((c, i) => Math.round(c.openedAt - (conns[i].closedAt ?? NaN)))
  t.ok(gaps.every((g) => g >= 0 && g <= RETRY_WAIT_MS), `each reconnection followed the cut at once (${gaps.join(', ')} ms)`)
  t.ok(conns.slice(0, 4).every((c) => c.closedByUs), 'the first four were cut by the origin, not dropped by the edge')
  await finish(t, 'cut', p, from, base)
})

t.test('the origin answers connect with garbage: the leg is dropped and retried', async (t) => {
  const base = baseline(node.edge)
  const origin = servers.garbage
  const from = wallMs()
  const p = await player(t, 'garbage')
  await origin.connection(2, 3 * (TIMEOUT_MS + LATE_MS + RETRY_WAIT_MS))
  await node.edge.waitForLog(/pull: closed: [^\n]*app: garbage, name: s1/, TIMEOUT_MS + LATE_MS)
  const h = held(origin.connections.slice(0, 2))
  t.equal(h.length, 2, 'the edge closed the first two connections')
  t.ok(h.every((ms) => ms <= TIMEOUT_MS + LATE_MS), `after ${h.join(', ')} ms (bound: relay_reconnect ${TIMEOUT_MS} + ${LATE_MS})`)
  t.comment(node.edge.log().split('\n').find((l) => /pull: closed: .*app: garbage/.test(l)) ?? '')
  t.notOk(p.closed, 'the player waits')
  t.equal(mediaCount(p), 0, 'and got no media')
  await finish(t, 'garbage', p, from, base)
})

t.test('the origin trickles every byte, one per 10 ms: each attempt is dropped at relay_reconnect and retried', async (t) => {
  const base = baseline(node.edge)
  const origin = servers.slow
  const from = wallMs()
  const p = await player(t, 'slow')
  await origin.connection(1, TIMEOUT_MS + LATE_MS + RETRY_WAIT_MS)
  const first = origin.connections[0]
  t.ok(await origin.closed(first, LATE_MS), 'the first attempt was closed as the next began')
  const h = held([first])
  t.ok(h.length === 1 && h[0] >= TIMEOUT_MS - 100 && h[0] <= TIMEOUT_MS + LATE_MS,
    `the edge held the first connection ${h[0]} ms (relay_reconnect ${TIMEOUT_MS})`)
  t.ok(first.bytesWritten > 0 && first.bytesWritten < 1 + 1536 + 1536,
    `the origin had trickled ${first.bytesWritten} bytes of its handshake by then`)
  t.notOk(p.closed, 'the player waits')
  await finish(t, 'slow', p, from, base)
})

t.test('the origin completes the handshake, then says nothing: dropped at relay_reconnect, retried at once', async (t) => {
  const base = baseline(node.edge)
  const origin = servers.silent
  const from = wallMs()
  const p = await player(t, 'silent')
  const second = await origin.connection(1, TIMEOUT_MS + LATE_MS + RETRY_WAIT_MS)
  const first = origin.connections[0]
  t.ok(await origin.closed(first, LATE_MS), 'the first attempt was closed as the next began')
  const h = held([first])
  t.ok(h.length === 1 && h[0] >= TIMEOUT_MS - 100 && h[0] <= TIMEOUT_MS + LATE_MS,
    `the edge dropped the silent connection after ${h[0]} ms (relay_reconnect ${TIMEOUT_MS})`)
  t.ok(second.openedAt - (first.closedAt ?? NaN) <= RETRY_WAIT_MS, `and retried ${Math.round(second.openedAt - (first.closedAt ?? NaN))} ms later`)
  await node.edge.waitForLog(/pull: relay timeout, app: silent, name: s1/, TIMEOUT_MS)
  t.notOk(p.closed, 'the player waits')
  await finish(t, 'silent', p, from, base)
})

t.test('the origin goes silent after Play.Start and a second of media: dropped after `timeout`, retried', async (t) => {
  const base = baseline(node.edge)
  const origin = servers.stall
  const from = wallMs()
  const p = await player(t, 'stall')
  await p.until(() => mediaCount(p) > 0, MEDIA_WAIT_MS, 'media through the pull')
  let second: ScriptedConnection | null = null
  try {
    second = await origin.connection(1, 1000 + TIMEOUT_MS + LATE_MS + RETRY_WAIT_MS)
  } catch (err) {
    t.fail(`the silent leg was not dropped and retried: ${(err as Error).message}`)
  }
  const first = origin.connections[0]
  if (second !== null) await origin.closed(first, LATE_MS)
  const silentFor = first.closedAt === null ? null : Math.round(first.closedAt - first.lastWriteAt)
  t.ok(silentFor !== null && silentFor >= TIMEOUT_MS - 100 && silentFor <= TIMEOUT_MS + LATE_MS,
    `the edge closed the silent connection ${silentFor ?? 'never'} ms after its last byte (timeout ${TIMEOUT_MS})`)
  if (second !== null) t.ok(second.openedAt - (first.closedAt ?? NaN) <= RETRY_WAIT_MS, 'and connected again at once')
  t.notOk(p.closed, 'the player waits')
  await finish(t, 'stall', p, from, base)
})
