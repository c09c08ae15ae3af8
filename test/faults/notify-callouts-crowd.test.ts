// Issue 10: a crowd of players arriving at once at an on_play whose server takes its time
// (contract-10 "on_play": the play is suspended until the answer; each request opens its own
// TCP connection, observed §12). PLAYERS RTMP players (RtmpTestClient), each connected and
// past createStream, write play of their own stream name in one go; the notify server answers
// every request 200 after ANSWER_DELAY_MS. Asserted:
//   - every player gets Play.Start, none sooner than the answer delay after its play, and all
//     within ALL_WAIT_MS: the callouts run side by side (one at a time would take
//     PLAYERS × ANSWER_DELAY_MS), shown too by how many notify connections were open at once;
//   - the notify server saw exactly one call=play&act=start per player (by stream name), and
//     after they leave exactly one act=done each;
//   - the edge's RSS peak, sampled every 50 ms from the plays to the last done, stays within
//     RSS_PEAK_BYTES of the baseline (printed), and once the players have gone its descriptors
//     are back to the baseline exactly, its RSS within RSS_AFTER_BYTES.
// Against edge without on_play it fails: no request reaches the notify server, and
// Play.Start comes at once.
import t from 'tap'
import { startLiveEdge, type LiveEdge } from '../helpers/node.js'
import { NotifyServer, readyToPlay, statusAnswer, statusInfos, where } from '../helpers/notify-servers.js'
import { RtmpTestClient } from '../helpers/rtmp-client.js'
import { baseline, expectBaseline, MiB, RssPeak, wallMs } from '../helpers/witness.js'

/** players in the crowd: enough to show concurrency, few enough for a few seconds on 2 cores */
const PLAYERS = 1000
/** the notify server answers each request 200 this long after it arrived */
const ANSWER_DELAY_MS = 200
/** on_play timeout=: far above what the crowd needs, so a slow answer is not a refusal */
const NOTIFY_TIMEOUT_S = 10
/** bound on the whole crowd's Play.Start, from the plays being written (one at a time: PLAYERS × ANSWER_DELAY_MS) */
const ALL_WAIT_MS = 10_000
/** a Play.Start this much before the answer delay had passed would be one the edge did not wait for */
const EARLY_MS = 10
/** the notify connections open at once must reach this (edge opens one per request) */
const MIN_PEAK_OPEN = 50
/** bound on the crowd's TCP connect, handshake, connect and createStream */
const SETUP_WAIT_MS = 30_000
/** bound on the dones once the players have left */
const DONE_WAIT_MS = 20_000
/** the edge's RSS peak while the crowd plays may stand this far above the baseline */
const RSS_PEAK_BYTES = 120 * MiB
/** and once it has gone (V8 does not hand its heap back at once) */
const RSS_AFTER_BYTES = 80 * MiB

let node: LiveEdge
let notify: NotifyServer

t.before(async () => {
  notify = await NotifyServer.start(t, statusAnswer(200, ANSWER_DELAY_MS))
  node = await startLiveEdge(t, {
    // room for the crowd and its callouts: past worker_connections the node refuses connections
    events: 'worker_connections 4096;',
    server: `timeout 30s;
        application crowd { live on; on_play http://127.0.0.1:${notify.port}/play timeout=${NOTIFY_TIMEOUT_S}s stage=start,done; }`,
  })
})

t.test(`${PLAYERS} players at once at an on_play answered 200 after ${ANSWER_DELAY_MS} ms: all start, one request each, concurrently`, async (t) => {
  const pid = node.edge.child.pid as number
  const base = baseline(node.edge)
  const setupAt = wallMs()
  const clients = await Promise.all(Array.from({ length: PLAYERS }, async () => {
    const c = await RtmpTestClient.open(node.rtmpPort)
    t.teardown(() => c.close())
    await c.connectApp('crowd', {}, node.rtmpPort)
    return { c, from: await readyToPlay(c) }
  }))
  t.comment(`${PLAYERS} players connected in ${Math.round(wallMs() - setupAt)} ms (bound ${SETUP_WAIT_MS})`)
  t.ok(wallMs() - setupAt <= SETUP_WAIT_MS, 'the crowd was set up in time')

  const rss = new RssPeak(pid, 50)
  const playAt = wallMs()
  clients.forEach(({ c }, i) => c.command(1, 'play', 0, null, `p${i}`, -2000))
  const times = await Promise.all(clients.map(async ({ c, from }) => {
    const left = ALL_WAIT_MS - (wallMs() - playAt)
    // a wait that runs out (or a close first) is a player without a status: counted below
    return c.next((m) => m.values?.[0] === 'onStatus', Math.max(1, left), from).then(() => wallMs() - playAt, () => null)
  }))
  const started = clients.filter(({ c }) => statusInfos(c)[0]?.code === 'NetStream.Play.Start').length
  const got = times.filter((x): x is number => x !== null).sort((a, b) => a - b)
  const pct = (q: number): string => (got.length === 0 ? '-' : `${Math.round(got[Math.min(got.length - 1, Math.floor(q * got.length))])}`)
  t.equal(started, PLAYERS, `${started} of ${PLAYERS} players got Play.Start`)
  t.ok(got.length === PLAYERS && got[got.length - 1] <= ALL_WAIT_MS,
    `all within ${ALL_WAIT_MS} ms of the plays: first ${pct(0)}, median ${pct(0.5)}, p90 ${pct(0.9)}, last ${pct(1)} ms ` +
    `(one callout at a time: ${PLAYERS * ANSWER_DELAY_MS} ms)`)
  t.ok(got.length > 0 && got[0] >= ANSWER_DELAY_MS - EARLY_MS, `none before its answer: the first after ${pct(0)} ms (answer delay ${ANSWER_DELAY_MS} ms)`)
  t.ok(notify.peakOpen >= MIN_PEAK_OPEN, `${notify.peakOpen} notify connections were open at once (at least ${MIN_PEAK_OPEN})`)

  const starts = notify.hits.filter(where({ call: 'play', act: 'start', app: 'crowd' }))
  const names = new Map<string, number>()
  for (const h of starts) {
    const name = /[?&]name=([^&\s]*)/.exec(h.line)?.[1] ?? ''
    names.set(name, (names.get(name) ?? 0) + 1)
  }
  t.equal(starts.length, PLAYERS, `${starts.length} call=play&act=start requests for ${PLAYERS} players`)
  t.ok(names.size === PLAYERS && [...names.values()].every((n) => n === 1) &&
    clients.every((_, i) => names.get(`p${i}`) === 1), `exactly one per player (${names.size} names)`)
  await Promise.all(clients.map(({ c }) => c.close()))
  const dones = where({ call: 'play', act: 'done', app: 'crowd' })
  const allDone = await notify.hit(dones, PLAYERS - 1, DONE_WAIT_MS).then(() => true, () => false)
  t.ok(allDone, `a done for each player that left (${notify.count(dones)})`)
  t.ok(await notify.scripted.allClosed(DONE_WAIT_MS), `no connection to the notify server remains (${notify.scripted.connections.length} seen)`)
  const doneNames = new Set(notify.hits.filter(dones).map((h) => /[?&]name=([^&\s]*)/.exec(h.line)?.[1] ?? ''))
  t.equal(notify.count(dones), PLAYERS, 'one each')
  t.equal(doneNames.size, PLAYERS, 'for every player')
  const peakBytes = rss.stop()
  t.ok(peakBytes - base.base.rssBytes <= RSS_PEAK_BYTES,
    `edge RSS peak ${(peakBytes / MiB).toFixed(1)} MiB from the plays to the last done, baseline ${(base.base.rssBytes / MiB).toFixed(1)} MiB ` +
    `(+${((peakBytes - base.base.rssBytes) / MiB).toFixed(1)} MiB; limit +${RSS_PEAK_BYTES / MiB} MiB)`)
  await expectBaseline(t, node.edge, base.base, base.fds, RSS_AFTER_BYTES)
  t.notMatch(node.edge.log(), /\[(alert|crit|emerg)\]|internal error/, 'no [alert], [crit] or internal error lines')
})
