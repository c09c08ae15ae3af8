// Issue 10: on_play and on_publish callouts to a notify server that misbehaves (contract-10
// "on_play, on_publish"; pingos-behaviour.md §4, observed §12, §13). One edge, with for each
// kind of fault a notify server (test/helpers/notify-servers.ts) and four applications:
//   <kind>play  / <kind>playi   on_play    timeout=1s stage=start,done   (i: ignore_invalid_notify on)
//   <kind>pub   / <kind>pubi    on_publish timeout=1s stage=start,done
// and application live, whose on_play goes to a healthy server answering 200 at once, with a
// witness stream published by ffmpeg and played over HTTP-FLV (test/helpers/witness.ts).
//
// In each fault subtest an RTMP player and an HTTP-FLV player play a stream of <kind>play and
// of <kind>playi (fed by a publisher that needs no approval), and an RTMP publisher publishes
// into <kind>pub and <kind>pubi, all at once. Asserted:
//   - without ignore_invalid_notify: the RTMP player and the publisher get exactly one onStatus
//     {status, NetStream.Play.Forbidden, "Play stream Forbidden"} and are closed, the HTTP-FLV
//     player gets 503, no media reaches anyone (a watcher of the refused publisher's stream
//     included); with it: Play.Start / 200 and media / Publish.Start. Each outcome comes within
//     timeout= and a margin (about 1 s, not the default 3 s, not never), and not before the
//     deadline when the server gave no answer at all by then (hang, endless header, trickle,
//     black hole);
//   - a new player of the witness, whose own on_play goes to the healthy server, gets
//     Play.Start within JOIN_MS while those callouts are pending, and the witness's HTTP-FLV
//     player never goes over 1 s without media;
//   - each start is followed by exactly one done with the same query; every connection to the
//     notify server is closed by the edge within timeout= (a black hole: no connect left
//     pending); the edge holds exactly the descriptors it held before, RSS within 20 MiB.
// Then: a publisher refused (by the resetting server, within milliseconds) while it is still
// sending and slow to read still finds its Forbidden, so the edge must not reset a connection
// it refuses; and 80 callouts hanging at once, while the witness's new players join as fast as
// with none.
//
// Against edge without on_play/on_publish every subtest fails: no callout is ever made, and
// every player and publisher is accepted at once.
import t, { type Test } from 'tap'
import { startLiveEdge, unacceptingMissing, unacceptingPort, type LiveEdge } from '../helpers/node.js'
import {
  badStatusLineAnswer, endlessHeaderAnswer, feed, flvAttempt, hangAnswer, mediaBurst, mediaCount, notHttpAnswer, NotifyServer,
  pendingConnects, PLAY_FORBIDDEN, readyToPlay, resetAnswer, rtmpAttempt, statusAnswer, statusInfos, TCP_ESTABLISHED, tcpState, trickleAnswer, where,
  type NotifyAnswer, type RtmpAttempt,
} from '../helpers/notify-servers.js'
import { RtmpTestClient } from '../helpers/rtmp-client.js'
import { baseline, expectBaseline, MiB, pollUntil, wallMs, Witness } from '../helpers/witness.js'

/** timeout= of every faulty on_play / on_publish */
const TIMEOUT_MS = 1000
/** a session may be refused (or accepted with ignore_invalid_notify) this long past timeout= on a loaded 2-core machine */
const LATE_MS = 1000
/** and, when the server gave no answer, no earlier than this before it */
const EARLY_MS = 50
/** bound on the close that follows a Play.Forbidden */
const CLOSE_AFTER_STATUS_MS = 1000
/** how long the test waits for an outcome: past its bound, so a late one is measured, not missed */
const OUTCOME_WAIT_MS = TIMEOUT_MS + LATE_MS + 2000
/** bound on the start requests reaching the notify server once the clients have sent play/publish */
const ARRIVE_MS = 5000
/** bound on a new witness player's Play.Start, TCP connect included (its on_play answers at once) */
const JOIN_MS = 1000
/** bound on the first media of an accepted player */
const MEDIA_WAIT_MS = 5000
/** bound on every notify connection closing once the clients have gone (a done may run to its timeout=) */
const CLOSE_WAIT_MS = 2 * TIMEOUT_MS + LATE_MS
/** the server's `timeout`: far from timeout= so an HTTP-FLV 503 for lack of data is not mistaken for a refusal */
const SERVER_TIMEOUT = '10s'
/** the media a flooding publisher writes (looped) right after publish, and its chunk size */
const BURST_BYTES = 4 * 1024 * 1024
const BURST_CHUNK_BYTES = 4096
/** the edge parses what it reads of the burst before it refuses: room for the heap that leaves */
const BURST_RSS_SLACK_BYTES = 40 * MiB
/** written a piece at a time, each when TCP has taken the last */
const BURST_PIECE_BYTES = 64 * 1024
/** the most the flood writes when the edge never closes (edge without on_publish) */
const FLOOD_MAX_BYTES = 64 * 1024 * 1024
/** the crowd subtest: callouts hung at once, and their timeout= (long enough to join the witness meanwhile) */
const CROWD_RTMP = 60
const CROWD_FLV = 20
const CROWD_TIMEOUT_MS = 5000
/** the crowd's callouts still pending once the witness's players have joined */
const CROWD_HANGING_MIN = 50
/** new witness players joined while the crowd hangs */
const CROWD_JOINS = 5

interface FaultKind {
  /** prefix of its applications */
  readonly name: string
  readonly what: string
  /** how the notify server answers; null: the URL's port never accepts a connection */
  readonly answer: NotifyAnswer | null
  /** no usable answer before timeout=, so the outcome waits for the deadline */
  readonly waitsForDeadline: boolean
}

const KINDS: readonly FaultKind[] = [
  { name: 'hang', what: 'accepts and never answers', answer: hangAnswer, waitsForDeadline: true },
  { name: 'reset', what: 'resets the connection', answer: resetAnswer, waitsForDeadline: false },
  { name: 'nothttp', what: 'answers noise, not HTTP', answer: notHttpAnswer, waitsForDeadline: false },
  { name: 'badstatus', what: 'answers a malformed status line', answer: badStatusLineAnswer, waitsForDeadline: false },
  { name: 'endless', what: 'answers "200 OK" and a header line that never ends', answer: endlessHeaderAnswer(20, 64), waitsForDeadline: true },
  { name: 'trickle', what: 'trickles a 200 head one byte per 100 ms', answer: trickleAnswer(100), waitsForDeadline: true },
  { name: 'black', what: 'never accepts the TCP connection', answer: null, waitsForDeadline: true },
]

let node: LiveEdge
let witness: Witness
const servers = new Map<string, NotifyServer>()
const ports = new Map<string, number>()
let crowd: NotifyServer
/** on_play of application live (the witness): 200 at once */
let healthy: NotifyServer

t.before(async () => {
  const missing = unacceptingMissing()
  if (missing !== false) throw new Error(missing)
  for (const kind of KINDS) {
    if (kind.answer === null) {
      ports.set(kind.name, await unacceptingPort(t))
      continue
    }
    const server = await NotifyServer.start(t, kind.answer)
    servers.set(kind.name, server)
    ports.set(kind.name, server.port)
  }
  crowd = await NotifyServer.start(t, hangAnswer)
  healthy = await NotifyServer.start(t, statusAnswer(200))
  const url = (kind: string, path: string): string => `http://127.0.0.1:${ports.get(kind) as number}/${path}`
  const opts = `timeout=${TIMEOUT_MS / 1000}s stage=start,done`
  const apps = KINDS.flatMap((k) => [
    `application ${k.name}play { live on; on_play ${url(k.name, 'play')} ${opts}; }`,
    `application ${k.name}playi { live on; on_play ${url(k.name, 'play')} ${opts}; ignore_invalid_notify on; }`,
    `application ${k.name}pub { live on; on_publish ${url(k.name, 'publish')} ${opts}; }`,
    `application ${k.name}pubi { live on; on_publish ${url(k.name, 'publish')} ${opts}; ignore_invalid_notify on; }`,
  ])
  apps.push(`application crowd { live on; on_play http://127.0.0.1:${crowd.port}/play timeout=${CROWD_TIMEOUT_MS / 1000}s; }`)
  node = await startLiveEdge(t, {
    server: `timeout ${SERVER_TIMEOUT};\n        ${apps.join('\n        ')}`,
    app: `on_play http://127.0.0.1:${healthy.port}/ok ${opts};`,
    flv: { '/flv': '' },
  })
  witness = await Witness.start(t, node.edge, node.rtmpPort, node.httpPort)
})

/** The window [earliest, latest] an outcome must fall in, in ms after the command. */
function window(kind: FaultKind): [number, number] {
  return [kind.waitsForDeadline ? TIMEOUT_MS - EARLY_MS : 0, TIMEOUT_MS + LATE_MS]
}

function inWindow(ms: number | null, w: [number, number]): boolean {
  return ms !== null && ms >= w[0] && ms <= w[1]
}

/** The edge's log lines matching `re`, for a failure's diagnosis. */
function logOf(re: RegExp): string {
  return node.edge.log().split('\n').filter((l) => re.test(l)).join('\n')
}

const fmt = (ms: number | null): string => (ms === null ? 'never' : `${Math.round(ms)} ms`)

/** A new RTMP player of the witness: ms from TCP connect to Play.Start (null: another status), and its first media. */
async function joinWitness(t: Test): Promise<{ ms: number | null, media: boolean }> {
  const starts = where({ act: 'start', app: 'live' })
  const startsBefore = healthy.count(starts)
  const at = wallMs()
  const c = await RtmpTestClient.open(node.rtmpPort)
  t.teardown(() => c.close())
  await c.connectApp('live', {}, node.rtmpPort)
  const status = await c.play(witness.name)
  const ms = RtmpTestClient.code(status) === 'NetStream.Play.Start' ? wallMs() - at : null
  let media = true
  await c.until(() => mediaCount(c) > 0, MEDIA_WAIT_MS, 'witness media').catch(() => { media = false })
  // its done (if its play made a callout), answered and closed: a baseline taken next sees a quiet edge
  const dones = where({ act: 'done', app: 'live' })
  const n = healthy.count(dones)
  await c.close()
  if (healthy.count(starts) > startsBefore) {
    const settled = await healthy.hit(dones, n, CLOSE_WAIT_MS).then(() => healthy.scripted.allClosed(CLOSE_WAIT_MS), () => false)
    if (!settled) t.comment('the witness player\'s act=done did not arrive (or its connection stayed open)')
  }
  return { ms, media }
}

/** A player of app/name that needs no approval (no on_play there): it sees what a publisher sends. */
async function watcher(t: Test, app: string, name: string): Promise<RtmpTestClient> {
  const c = await RtmpTestClient.open(node.rtmpPort)
  t.teardown(() => c.close())
  await c.connectApp(app, {}, node.rtmpPort)
  const status = await c.play(name)
  if (RtmpTestClient.code(status) !== 'NetStream.Play.Start') throw new Error(`watcher ${app}/${name}: ${RtmpTestClient.code(status)}`)
  return c
}

function expectRefused(t: Test, what: string, a: RtmpAttempt, w: [number, number]): void {
  t.same(statusInfos(a.client), [PLAY_FORBIDDEN], `${what}: exactly one onStatus, ${PLAY_FORBIDDEN.code} "${PLAY_FORBIDDEN.description}" (level status)`)
  const unread = a.statusMs === null && a.closedMs !== null ? `; the connection was closed ${fmt(a.closedMs)} after it, no status read` : ''
  t.ok(inWindow(a.statusMs, w), `${what}: refused ${fmt(a.statusMs)} after the command (window ${w[0]}–${w[1]} ms)${unread}`)
  const after = a.closedMs === null || a.statusMs === null ? null : a.closedMs - a.statusMs
  t.ok(after !== null && after <= CLOSE_AFTER_STATUS_MS, `${what}: then closed by the edge (${fmt(after)} after the status)`)
  t.equal(mediaCount(a.client), 0, `${what}: no media`)
}

async function expectAccepted(t: Test, what: string, a: RtmpAttempt, code: string, w: [number, number]): Promise<void> {
  const first = statusInfos(a.client)[0]
  t.equal(first?.code, code, `${what}: ${code} (ignore_invalid_notify on)`)
  t.ok(inWindow(a.statusMs, w), `${what}: after ${fmt(a.statusMs)} (window ${w[0]}–${w[1]} ms)`)
  t.notOk(a.client.closed, `${what}: still connected`)
  if (code === 'NetStream.Play.Start') {
    const ok = await a.client.until(() => mediaCount(a.client) > 0, MEDIA_WAIT_MS, 'media').then(() => true, () => false)
    t.ok(ok, `${what}: and media (${mediaCount(a.client)} audio/video messages)`)
  }
}

async function closeAll(list: readonly { close(): Promise<void> }[]): Promise<void> {
  await Promise.all(list.map((c) => c.close()))
}

for (const kind of KINDS) {
  t.test(`the on_play/on_publish server ${kind.what}: refused at timeout=, accepted with ignore_invalid_notify; nothing else waits`, async (t) => {
    const k = kind.name
    const server = servers.get(k) ?? null
    const port = ports.get(k) as number
    const w = window(kind)
    const base = baseline(node.edge)
    const from = wallMs()
    const feeds = await Promise.all([feed(t, node.rtmpPort, `${k}play`, 'feed'), feed(t, node.rtmpPort, `${k}playi`, 'feed')])
    const watchers = await Promise.all([watcher(t, `${k}pub`, 's1'), watcher(t, `${k}pubi`, 's1')])
    const rtmp = (app: string, verb: 'play' | 'publish'): Promise<RtmpAttempt> => rtmpAttempt(t, {
      port: node.rtmpPort, app, name: verb === 'play' ? 'feed' : 's1', verb, pace: true,
      statusWaitMs: OUTCOME_WAIT_MS, closeWaitMs: CLOSE_AFTER_STATUS_MS + 1000,
    })
    const attempts = Promise.all([
      rtmp(`${k}play`, 'play'), rtmp(`${k}playi`, 'play'), rtmp(`${k}pub`, 'publish'), rtmp(`${k}pubi`, 'publish'),
      flvAttempt(t, node.httpPort, `${k}play`, 'feed', OUTCOME_WAIT_MS), flvAttempt(t, node.httpPort, `${k}playi`, 'feed', OUTCOME_WAIT_MS),
    ])

    // while the six callouts are pending (for the kinds that hold them), a new witness player
    const starts = where({ act: 'start' })
    const arrived = server !== null
      ? await server.hit(starts, 5, ARRIVE_MS).then(() => true, () => false)
      : await pollUntil(() => pendingConnects(port) >= 6, ARRIVE_MS)
    t.ok(arrived, server !== null
      ? `the notify server got the six start requests (${server.count(starts)})`
      : `the edge is connecting to the black hole for the six callouts (${pendingConnects(port)} pending)`)
    const join = await joinWitness(t)
    t.ok(join.ms !== null && join.ms <= JOIN_MS, `a new witness player got Play.Start ${fmt(join.ms)} after connecting, meanwhile (bound ${JOIN_MS} ms)`)
    t.ok(join.media, 'and media')

    const [r, ri, p, pi, h, hi] = await attempts
    if (server !== null) {
      for (const [call, app, n] of [['play', `${k}play`, 2], ['play', `${k}playi`, 2], ['publish', `${k}pub`, 1], ['publish', `${k}pubi`, 1]] as const) {
        t.equal(server.count(where({ call, act: 'start', app })), n, `${n} call=${call}&act=start for app ${app}`)
      }
    }
    expectRefused(t, 'RTMP player', r, w)
    expectRefused(t, 'RTMP publisher', p, w)
    t.notOk(statusInfos(p.client).some((s) => s.code === 'NetStream.Publish.Start'), 'RTMP publisher: no Publish.Start')
    t.equal(mediaCount(watchers[0]), 0, 'a player of the refused publisher\'s stream got none of the media it sent before the refusal')
    t.equal(h.status, 503, `HTTP-FLV player: ${h.statusLine ?? 'no status line'}`)
    t.ok(inWindow(h.firstByteMs, w), `HTTP-FLV player: answered ${fmt(h.firstByteMs)} after the request (window ${w[0]}–${w[1]} ms)`)
    t.equal(h.tags.length, 0, 'HTTP-FLV player: no FLV')

    await expectAccepted(t, 'RTMP player, ignore_invalid_notify on', ri, 'NetStream.Play.Start', w)
    await expectAccepted(t, 'RTMP publisher, ignore_invalid_notify on', pi, 'NetStream.Publish.Start', w)
    const fed = await watchers[1].until(() => mediaCount(watchers[1]) > 0, MEDIA_WAIT_MS, 'media').then(() => true, () => false)
    t.ok(fed, `and a player of its stream gets its media (${mediaCount(watchers[1])} messages)`)
    t.equal(hi.status, 200, `HTTP-FLV player, ignore_invalid_notify on: ${hi.statusLine ?? 'no status line'}`)
    t.ok(inWindow(hi.firstByteMs, w), `HTTP-FLV player, ignore_invalid_notify on: after ${fmt(hi.firstByteMs)} (window ${w[0]}–${w[1]} ms)`)
    const tags = await hi.until(() => hi.tags.length > 0, MEDIA_WAIT_MS, 'FLV tags').then(() => true, () => false)
    t.ok(tags, `and FLV tags (${hi.tags.length})`)

    await witness.expectFlowing(t, from)
    await closeAll([r.client, ri.client, p.client, pi.client, h, hi, ...watchers, ...feeds])

    if (server !== null) {
      // stage=start,done: done repeats the start query byte for byte but for act= (§6.3), once
      const startHits = server.hits.filter(starts)
      const dones = await Promise.all(startHits.map((s) => {
        const line = s.line.replace('&act=start&', '&act=done&')
        return server.hit((x) => x.line === line, 0, CLOSE_WAIT_MS).then(() => line, () => null)
      }))
      t.equal(dones.filter((d) => d !== null).length, startHits.length, `each of the ${startHits.length} starts was followed by its done`)
      t.ok(await server.scripted.allClosed(CLOSE_WAIT_MS), `no connection to the notify server remains (${server.scripted.connections.length} seen)`)
      t.same(dones.map((d) => (d === null ? 0 : server.count((x) => x.line === d))), startHits.map(() => 1), 'and each done came once')
      const held = server.scripted.connections.filter((c) => !c.closedByUs && c.closedAt !== null)
        .map((c) => Math.round((c.closedAt as number) - c.openedAt))
      t.ok(held.every((ms) => ms <= TIMEOUT_MS + LATE_MS),
        `the edge closed each notify connection within timeout= (held ${held.join(', ')} ms; bound ${TIMEOUT_MS + LATE_MS})`)
    } else {
      t.ok(await pollUntil(() => pendingConnects(port) === 0, CLOSE_WAIT_MS), `no connect to the black hole is left pending (${pendingConnects(port)})`)
    }
    await expectBaseline(t, node.edge, base.base, base.fds)
    t.notMatch(node.edge.log(), /\[(alert|crit|emerg)\]|internal error/, 'no [alert], [crit] or internal error lines')
    if (!t.passing()) t.comment(`the edge's log of these applications:\n${logOf(new RegExp(`app: ${k}(play|pub)i?(,|$)`))}`)
  })
}

t.test('a publisher refused while it is still sending, and slow to read, finds the Forbidden before the close', async (t) => {
  // The reset server refuses within milliseconds, while media is still arriving. An edge that
  // destroys a socket with unread input sends RST, and a client that had not yet read the
  // status written just before (a busy ffmpeg) loses it and sees only "connection reset". So
  // the client here stops reading, writes media as fast as TCP takes it until the edge has
  // closed its side (FIN: CLOSE_WAIT in /proc/net/tcp; RST: the entry is gone), then reads.
  const base = baseline(node.edge)
  const c = await RtmpTestClient.open(node.rtmpPort)
  t.teardown(() => c.close())
  await c.connectApp('resetpub', {}, node.rtmpPort)
  c.setChunkSize(BURST_CHUNK_BYTES)
  await readyToPlay(c)
  const local = c.socket.localPort as number
  c.socket.pause()
  c.command(1, 'publish', 0, null, 'burst', 'live')
  // the burst over and over (its timestamps repeat: an edge that refuses never looks at them)
  const burst = mediaBurst(BURST_BYTES, BURST_CHUNK_BYTES)
  let at = 0
  let stop = false
  const pump = (): void => {
    while (!stop && !c.socket.destroyed && at < FLOOD_MAX_BYTES) {
      const from = at % burst.length
      const piece = burst.subarray(from, Math.min(burst.length, from + BURST_PIECE_BYTES))
      at += piece.length
      if (!c.socket.write(piece)) {
        c.socket.once('drain', pump)
        return
      }
    }
  }
  pump()
  const sideClosed = await pollUntil(() => tcpState(local, node.rtmpPort) !== TCP_ESTABLISHED, OUTCOME_WAIT_MS)
  stop = true
  const state = tcpState(local, node.rtmpPort)
  t.ok(sideClosed, `the edge closed its side (${state === '' ? 'reset' : `state ${state}`}) after ${(at / MiB).toFixed(1)} MiB of media`)
  c.socket.resume()
  const read = await c.until(() => c.closed || statusInfos(c).length > 0, OUTCOME_WAIT_MS, 'a status or the close').then(() => 'read', () => 'nothing to read')
  t.same(statusInfos(c), [PLAY_FORBIDDEN], `reading only now, the client finds exactly one onStatus, ${PLAY_FORBIDDEN.code} (${read})`)
  const closed = await c.until(() => c.closed, OUTCOME_WAIT_MS, 'the close').then(() => true, () => false)
  t.ok(closed, 'then the close')
  await c.close()
  await expectBaseline(t, node.edge, base.base, base.fds, BURST_RSS_SLACK_BYTES)
})

t.test(`${CROWD_RTMP + CROWD_FLV} on_play callouts hang at once: the witness plays on, its new players start without waiting`, async (t) => {
  const base = baseline(node.edge)
  const quiet = await joinWitness(t)
  const from = wallMs()
  const rtmp = Promise.all(Array.from({ length: CROWD_RTMP }, (_, i) => rtmpAttempt(t, {
    port: node.rtmpPort, app: 'crowd', name: `r${i}`, verb: 'play',
    statusWaitMs: CROWD_TIMEOUT_MS + LATE_MS + 2000, closeWaitMs: CLOSE_AFTER_STATUS_MS + 1000,
  })))
  const flv = Promise.all(Array.from({ length: CROWD_FLV }, (_, i) =>
    flvAttempt(t, node.httpPort, 'crowd', `h${i}`, CROWD_TIMEOUT_MS + LATE_MS + 2000)))
  const n = CROWD_RTMP + CROWD_FLV
  const arrived = await crowd.hit(where({ call: 'play', act: 'start' }), n - 1, ARRIVE_MS).then(() => true, () => false)
  t.ok(arrived, `the notify server holds ${crowd.count(where({ call: 'play', act: 'start' }))} of the ${n} start requests`)

  const joins: (number | null)[] = []
  for (let i = 0; i < CROWD_JOINS; i++) {
    const j = await joinWitness(t)
    joins.push(j.ms)
    if (!j.media) t.fail(`witness player ${i} got no media`)
  }
  const flvJoin = await flvAttempt(t, node.httpPort, 'live', witness.name, JOIN_MS + 1000)
  const hanging = crowd.openNow
  t.ok(hanging >= CROWD_HANGING_MIN, `${hanging} callouts were still hanging after the joins (at least ${CROWD_HANGING_MIN})`)
  t.ok(joins.every((ms) => ms !== null && ms <= JOIN_MS),
    `${CROWD_JOINS} new RTMP witness players got Play.Start after ${joins.map(fmt).join(', ')} (bound ${JOIN_MS} ms; ${fmt(quiet.ms)} with nothing hanging)`)
  t.equal(flvJoin.status, 200, `a new HTTP-FLV witness player: ${flvJoin.statusLine ?? 'no status line'}`)
  t.ok(flvJoin.firstByteMs !== null && flvJoin.firstByteMs <= JOIN_MS, `after ${fmt(flvJoin.firstByteMs)} (bound ${JOIN_MS} ms)`)
  await flvJoin.close()

  const w: [number, number] = [CROWD_TIMEOUT_MS - EARLY_MS, CROWD_TIMEOUT_MS + LATE_MS]
  const rs = await rtmp
  const hs = await flv
  const refused = rs.filter((a) => inWindow(a.statusMs, w) && a.closedMs !== null &&
    JSON.stringify(statusInfos(a.client)) === JSON.stringify([PLAY_FORBIDDEN]))
  t.equal(refused.length, CROWD_RTMP, `RTMP players refused with Play.Forbidden and closed at timeout= (${w[0]}–${w[1]} ms): ` +
    `${refused.length} of ${CROWD_RTMP}; times ${[...new Set(rs.map((a) => fmt(a.statusMs)))].slice(0, 8).join(', ')}…`)
  const refusedH = hs.filter((h) => h.status === 503 && inWindow(h.firstByteMs, w))
  t.equal(refusedH.length, CROWD_FLV, `HTTP-FLV players answered 503 at timeout=: ${refusedH.length} of ${CROWD_FLV}`)

  await witness.expectFlowing(t, from)
  await closeAll([...rs.map((a) => a.client), ...hs])
  t.ok(await crowd.scripted.allClosed(CLOSE_WAIT_MS), `no connection to the notify server remains (${crowd.scripted.connections.length} seen)`)
  await expectBaseline(t, node.edge, base.base, base.fds)
  t.notMatch(node.edge.log(), /\[(alert|crit|emerg)\]|internal error/, 'no [alert], [crit] or internal error lines')
})
