// Issue 10: a client that leaves while its on_play / on_publish callout is pending leaves
// nothing behind (contract-10: "A client that disconnects while its callout is pending:
// nothing is left (no socket, timer, stream); the stream key is free again"; "act=done is
// sent ... when the client leaves while the start is still pending").
//
// One edge with
//   application leave        on_play and on_publish to a notify server the test scripts
//                            (timeout=2s stage=start,done), on_stream to a healthy one (200);
//   application leaveblack   on_play and on_publish to a port that never accepts.
// The RTMP player, the HTTP-FLV player and the RTMP publisher (sending media all along) each
// leave once their start request has reached a notify server that never answers; asserted:
//   - the notify connection of that start is closed by the edge within timeout=;
//   - exactly one act=done follows, repeating the start query but for act=, sent once the
//     client had left; nothing else about that stream name reaches the server before the
//     start's deadline has passed;
//   - the stream is gone: on_stream sends its done (the stream is "completely empty"), once;
//   - the edge holds exactly the descriptors it held before (/proc/<pid>/fd) and every
//     connection to the notify server is closed;
//   - the key is free: with the server now answering 200, a publisher of the same name gets
//     Publish.Start (a publisher left behind would make it "Already publishing") and a player
//     of the same kind plays its media.
// With the black hole, the connects the edge started (SYN_SENT in /proc/net/tcp) are gone in
// bounded time once the clients have left, and the descriptors are back to the baseline.
//
// Against edge without on_play/on_publish/on_stream these fail: no callout is ever made, so
// there is no pending start to leave during.
import t, { type Test } from 'tap'
import { startLiveEdge, unacceptingMissing, unacceptingPort, type LiveEdge } from '../helpers/node.js'
import {
  feed, flvAttempt, hangAnswer, mediaCount, NotifyServer, paceInto, pendingConnects, readyToPlay, rtmpAttempt,
  statusAnswer, statusInfos, where, type NotifyHit,
} from '../helpers/notify-servers.js'
import { RawHttpClient } from '../helpers/raw-http.js'
import { RtmpTestClient } from '../helpers/rtmp-client.js'
import { baseline, expectBaseline, pollUntil, wallMs } from '../helpers/witness.js'

/** timeout= of on_play / on_publish: the clients leave well inside it */
const TIMEOUT_MS = 2000
/** how far past timeout= the edge may close a notify connection on a loaded 2-core machine */
const LATE_MS = 1000
/** bound on the start request reaching the notify server once play/publish is written */
const ARRIVE_MS = 5000
/** bound on every notify connection closing once the client has left (its done may run to timeout=) */
const CLOSE_WAIT_MS = 2 * TIMEOUT_MS + LATE_MS
/** bound on the outcome of a later play/publish answered 200 at once */
const LATER_WAIT_MS = 3000
/** bound on the first media of a later player */
const MEDIA_WAIT_MS = 5000

let node: LiveEdge
let notify: NotifyServer
let streams: NotifyServer
let blackPort: number

t.before(async () => {
  const missing = unacceptingMissing()
  if (missing !== false) throw new Error(missing)
  notify = await NotifyServer.start(t, hangAnswer)
  streams = await NotifyServer.start(t, statusAnswer(200))
  blackPort = await unacceptingPort(t)
  const n = `http://127.0.0.1:${notify.port}`
  const b = `http://127.0.0.1:${blackPort}`
  const opts = `timeout=${TIMEOUT_MS / 1000}s stage=start,done`
  node = await startLiveEdge(t, {
    server: `timeout 10s;
        application leave { live on; on_play ${n}/play ${opts}; on_publish ${n}/publish ${opts}; on_stream http://127.0.0.1:${streams.port}/stream stage=start,done; }
        application leaveblack { live on; on_play ${b}/play ${opts}; on_publish ${b}/publish ${opts}; }`,
    flv: { '/flv': '' },
  })
})

const fmt = (ms: number | null): string => (ms === null ? 'never' : `${Math.round(ms)} ms`)

/** An RTMP client of `app` that has written play/publish `name` (a publisher paces media from then on). */
async function rtmpClient(t: Test, app: string, verb: 'play' | 'publish', name: string): Promise<RtmpTestClient> {
  const c = await RtmpTestClient.open(node.rtmpPort)
  t.teardown(() => c.close())
  await c.connectApp(app, {}, node.rtmpPort)
  await readyToPlay(c)
  if (verb === 'play') {
    c.command(1, 'play', 0, null, name, -2000)
  } else {
    c.command(1, 'publish', 0, null, name, 'live')
    paceInto(c)
  }
  return c
}

interface LeaveCase {
  readonly what: string
  readonly call: 'play' | 'publish'
  readonly name: string
  /** opens the client and writes play/publish */
  readonly open: (t: Test) => Promise<{ close(): Promise<void> }>
  /** the later player of the same key is an HTTP-FLV one */
  readonly laterFlv: boolean
}

const CASES: readonly LeaveCase[] = [
  {
    what: 'an RTMP player closes its socket',
    call: 'play',
    name: 'gone-r',
    open: (t) => rtmpClient(t, 'leave', 'play', 'gone-r'),
    laterFlv: false,
  },
  {
    what: 'an HTTP-FLV player aborts its request',
    call: 'play',
    name: 'gone-h',
    open: async (t) => {
      const c = await RawHttpClient.request(node.httpPort, '/flv/gone-h.flv?app=leave')
      t.teardown(() => c.close())
      return c
    },
    laterFlv: true,
  },
  {
    what: 'a publisher sending media disconnects',
    call: 'publish',
    name: 'gone-p',
    open: (t) => rtmpClient(t, 'leave', 'publish', 'gone-p'),
    laterFlv: false,
  },
]

for (const c of CASES) {
  t.test(`${c.what} while on_${c.call} is pending: nothing is left, done is sent once, the key is free`, async (t) => {
    notify.answer = hangAnswer
    const base = baseline(node.edge)
    const ofName = where({ name: c.name })
    const client = await c.open(t)
    let start: NotifyHit | null = null
    try {
      start = await notify.hit(where({ call: c.call, act: 'start', name: c.name }), 0, ARRIVE_MS)
    } catch (err) {
      t.fail(`no call=${c.call}&act=start for ${c.name}: ${(err as Error).message}`)
    }
    const leftAt = wallMs()
    await client.close()

    if (start !== null) {
      const conn = start.conn
      const closed = await notify.scripted.closed(conn, TIMEOUT_MS + LATE_MS)
      const held = conn.closedAt === null ? null : conn.closedAt - conn.openedAt
      t.ok(closed && !conn.closedByUs && held !== null && held <= TIMEOUT_MS + LATE_MS,
        `the edge closed the start's notify connection ${fmt(held)} after opening it (timeout= ${TIMEOUT_MS} ms; ` +
        `${fmt(conn.closedAt === null ? null : conn.closedAt - leftAt)} after the client left)`)
    }
    const done = await notify.hit(where({ call: c.call, act: 'done', name: c.name }), 0, TIMEOUT_MS + LATE_MS).catch(() => null)
    t.ok(done !== null, `call=${c.call}&act=done was sent${done === null ? '' : ` ${fmt(done.at - leftAt)} after the client left`}`)
    if (start !== null && done !== null) {
      t.equal(done.line, start.line.replace('&act=start&', '&act=done&'), 'repeating the start query but for act=')
      t.ok(done.at >= leftAt, 'once the client had left')
    }
    const streamDone = await streams.hit(where({ call: 'stream', act: 'done', name: c.name }), 0, TIMEOUT_MS + LATE_MS).catch(() => null)
    t.ok(streamDone !== null, `on_stream done: the stream ${c.name} is gone${streamDone === null ? '' : ` (${fmt(streamDone.at - leftAt)} after the client left)`}`)

    // watched until the start's deadline is well past: a late done or a retry would show here
    const until = (start?.at ?? leftAt) + TIMEOUT_MS + LATE_MS
    const [seen, streamSeen] = await Promise.all([notify.countUntil(ofName, until, 2), streams.countUntil(ofName, until, 2)])
    t.same(notify.hits.filter(ofName).map((h) => `${/act=(\w+)/.exec(h.line)?.[1] ?? '?'}`), ['start', 'done'],
      `the notify server got one start and one done for ${c.name}, nothing else (${seen} requests)`)
    t.same(streams.hits.filter(ofName).map((h) => `${/act=(\w+)/.exec(h.line)?.[1] ?? '?'}`), ['start', 'done'],
      `on_stream: one start and one done (${streamSeen} requests)`)
    t.ok(await notify.scripted.allClosed(CLOSE_WAIT_MS), `no connection to the notify server remains (${notify.scripted.connections.length} seen)`)
    await expectBaseline(t, node.edge, base.base, base.fds)

    // the key is free: the server now answers 200
    notify.answer = statusAnswer(200)
    const publisher = await feed(t, node.rtmpPort, 'leave', c.name).catch((err: Error) => {
      t.fail(`a later publisher of ${c.name}: ${err.message}`)
      return null
    })
    if (publisher !== null) t.pass(`a later publisher of ${c.name} got Publish.Start`)
    if (c.laterFlv) {
      const h = await flvAttempt(t, node.httpPort, 'leave', c.name, LATER_WAIT_MS)
      t.equal(h.status, 200, `a later HTTP-FLV player of ${c.name}: ${h.statusLine ?? 'no status line'}`)
      const tags = await h.until(() => h.tags.length > 0, MEDIA_WAIT_MS, 'FLV tags').then(() => true, () => false)
      t.ok(tags, `and FLV tags (${h.tags.length})`)
      await h.close()
    } else {
      const p = await rtmpAttempt(t, {
        port: node.rtmpPort, app: 'leave', name: c.name, verb: 'play', statusWaitMs: LATER_WAIT_MS, closeWaitMs: 1000,
      })
      t.equal(statusInfos(p.client)[0]?.code, 'NetStream.Play.Start', `a later RTMP player of ${c.name}: Play.Start`)
      const media = await p.client.until(() => mediaCount(p.client) > 0, MEDIA_WAIT_MS, 'media').then(() => true, () => false)
      t.ok(media, `and media (${mediaCount(p.client)} messages)`)
      await p.client.close()
    }
    await publisher?.close()
    // their dones (play, publish, stream) answered and closed: the next subtest's baseline is a quiet edge
    const settled = await Promise.all([
      notify.hit(where({ act: 'done', name: c.name }), 2, CLOSE_WAIT_MS),
      streams.hit(where({ act: 'done', name: c.name }), 1, CLOSE_WAIT_MS),
    ]).then(async () => await notify.scripted.allClosed(CLOSE_WAIT_MS) && await streams.scripted.allClosed(CLOSE_WAIT_MS), () => false)
    t.ok(settled, 'the later sessions\' dones were sent and their connections closed')
    t.notMatch(node.edge.log(), /\[(alert|crit|emerg)\]|internal error/, 'no [alert], [crit] or internal error lines')
  })
}

t.test('a player and a publisher leave while the edge is still connecting to the notify server: no connect is left', async (t) => {
  const base = baseline(node.edge)
  t.equal(pendingConnects(blackPort), 0, 'no connect to the black hole before')
  const player = await rtmpClient(t, 'leaveblack', 'play', 'gone-b')
  const publisher = await rtmpClient(t, 'leaveblack', 'publish', 'gone-bp')
  const pending = await pollUntil(() => pendingConnects(blackPort) >= 2, ARRIVE_MS)
  t.ok(pending, `the edge is connecting for both callouts (${pendingConnects(blackPort)} SYN_SENT)`)
  const leftAt = wallMs()
  await Promise.all([player.close(), publisher.close()])
  // the starts give up at timeout=; the dones the leaving sends may each run to theirs
  const gone = await pollUntil(() => pendingConnects(blackPort) === 0, CLOSE_WAIT_MS)
  t.ok(gone, `no connect is left pending ${fmt(wallMs() - leftAt)} after the clients left (bound ${CLOSE_WAIT_MS} ms; ${pendingConnects(blackPort)} left)`)
  await expectBaseline(t, node.edge, base.base, base.fds)
  t.notMatch(node.edge.log(), /\[(alert|crit|emerg)\]|internal error/, 'no [alert], [crit] or internal error lines')
})
