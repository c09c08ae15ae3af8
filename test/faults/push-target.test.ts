// Issue 11 faults: a push target that is down, goes away, never answers or closes after the
// publish (pingos-observed.md §14.2; contract of issue 11 items 4 and 6). One edge, one
// application per target (`push rtmp://127.0.0.1:<port> app=live;`), the defaults
// (relay_reconnect 3s, failed_reconnect 50 ms doubling). In each case an AMF-level publisher
// streams the test media into <app>/s1 and a local RTMP player plays it; asserted: the retry
// timings a target observes (or, for a closed port, the arrival of edge's `push: rtmp://…` log
// line of each attempt), one log line per failed attempt, that the publisher and the player
// go on undisturbed, and that once they leave the edge holds the descriptors it held before.
// Last, a line with two URLs whose first is a closed port: the second is tried at once.
// The on_push answers are in push-on-push.test.ts.
import t, { type Test } from 'tap'
import { MSG_VIDEO } from '../../lib/rtmp/constants.js'
import type { NotifyEdge } from '../helpers/notify.js'
import { freePort } from '../helpers/node.js'
import { startNotifyEdge } from '../helpers/notify.js'
import { mediaCount } from '../helpers/pull-scenarios.js'
import {
  baseline, expectNoHandleLeft, expectUndisturbed, localPlayer, pacedPublisher, streamLines, timedLog, TOLERANCE_MS, within, type EdgeBaseline, type PacedPublisher, type TimedLine,
} from '../helpers/push-scenarios.js'
import type { RtmpTestClient } from '../helpers/rtmp-client.js'
import { mediaOf, PushTarget, pushTarget, type PushTargetAnswer } from '../helpers/push-target.js'

/** failed_reconnect 50 ms doubling: attempts at these times after the first (§2.5, observed §14.2) */
const ATTEMPTS_AT_MS = [0, 50, 150, 350, 750, 1550]
/** the waits the edge logs between them (`push: retry in <ms> ms`) */
const RETRY_WAITS_MS = [50, 100, 200, 400, 800, 1600]
/** relay_reconnect (default 3s): an attempt that gets no answer ends this long after it began */
const RELAY_RECONNECT_MS = 3000
/** how far from relay_reconnect such an attempt may end here */
const DEADLINE_TOLERANCE_MS = 400
/** "at once" after a target that had the publish closed (observed 1–2 ms) */
const AT_ONCE_MS = 150
/** the start-then-close target closes this long after Publish.Start */
const CLOSE_AFTER_MS = 1000
/** bound on the publisher, the push connection and media arriving */
const WAIT_MS = 10_000
/** a leg that connects ~3 s into the publish gets frames stamped past this (contract item 2: not rebased) */
const NOT_REBASED_MS = 2000
/** media messages that show a push connection carries the stream (about a second) */
const FLOWING = 50

const answers = {
  down: { kind: 'start' },
  away: { kind: 'start' },
  mute: { kind: 'mute' },
  nopublish: { kind: 'no-publish-answer' },
  closing: { kind: 'start-then-close', afterMs: CLOSE_AFTER_MS },
  /** the second URL of a line whose first URL is a closed port */
  failover: { kind: 'start' },
} as const satisfies Record<string, PushTargetAnswer>
type Case = keyof typeof answers

let node: NotifyEdge
let lines: TimedLine[]
/** a closed port: the first URL of the failover line */
let deadPort: number
const targets = {} as Record<Case, PushTarget>

t.before(async () => {
  for (const name of Object.keys(answers) as Case[]) {
    // `down` starts closed: it is opened during its test
    targets[name] = await pushTarget(t, answers[name], { closed: name === 'down' })
  }
  const apps = {} as Record<Case, string>
  for (const name of Object.keys(answers) as Case[]) apps[name] = `push rtmp://127.0.0.1:${targets[name].port} app=live;`
  deadPort = await freePort()
  apps.failover = `push rtmp://127.0.0.1:${deadPort} rtmp://127.0.0.1:${targets.failover.port} app=live;`
  node = await startNotifyEdge(t, { apps })
  lines = timedLog(node.edge)
})

/** `push: rtmp://127.0.0.1:<port> …` lines of <app>/s1: one per attempt (contract item 6). */
const attemptLines = (app: Case): TimedLine[] => streamLines(lines, app, 's1', new RegExp(`push: rtmp://127\\.0\\.0\\.1:${targets[app].port} `))
const closedLines = (app: Case): TimedLine[] => streamLines(lines, app, 's1', /push: closed: /)

/** Waits (bounded) until edge has logged `n` lines of <app>/s1 matching `re`. */
async function logged(app: Case, re: RegExp, n: number, timeoutMs: number): Promise<void> {
  const one = `${re.source}[^\\n]*app: ${app}, name: s1`
  await node.edge.waitForLog(new RegExp(`(?:${one}[\\s\\S]*?){${n}}`), timeoutMs)
}

/** The publisher of <app>/s1 and a local player of it, the player already receiving media. */
async function publisherAndPlayer(t: Test, app: Case): Promise<{ pub: PacedPublisher, player: RtmpTestClient, base: EdgeBaseline }> {
  const base = baseline(node.edge)
  const pub = await pacedPublisher(t, node.rtmpPort, app, 's1')
  t.equal(pub.firstStatus.code, 'NetStream.Publish.Start', 'the publisher has Publish.Start')
  const player = await localPlayer(t, node.rtmpPort, app, 's1')
  await player.until(() => mediaCount(player) > 0, WAIT_MS, 'media at the local player')
  return { pub, player, base }
}

t.test('the target is down at start: attempts back off 50, 100, 200 … ms; once it is up, the next attempt publishes', async (t) => {
  const target = targets.down
  const { pub, player, base } = await publisherAndPlayer(t, 'down')
  await logged('down', /push: rtmp:\/\//, ATTEMPTS_AT_MS.length, WAIT_MS)
  const at = attemptLines('down').map((l) => l.at)
  const rel = at.map((v) => Math.round(v - at[0]))
  t.comment(`attempts logged at +${rel.join(', +')} ms`)
  ATTEMPTS_AT_MS.forEach((expected, i) => {
    t.ok(within(rel[i], expected), `attempt ${i + 1} at +${rel[i]} ms (expected ${expected})`)
  })
  const mediaBefore = mediaCount(player)

  // the target comes up once the 6th attempt has failed (its `retry in` line); the 7th (+3150 ms) must publish
  await logged('down', /push: retry in /, ATTEMPTS_AT_MS.length, WAIT_MS)
  await target.open()
  const openedAt = Date.now()
  const c = await target.connection(0, RELAY_RECONNECT_MS + WAIT_MS)
  await target.media(c, FLOWING, WAIT_MS)
  const all = attemptLines('down').map((l) => Math.round(l.at - at[0]))
  t.comment(`the target came up at +${Math.round(openedAt - at[0])} ms; attempts at +${all.join(', +')} ms`)
  t.ok(c.openedAt - openedAt <= RELAY_RECONNECT_MS + TOLERANCE_MS, `the next attempt came ${Math.round(c.openedAt - openedAt)} ms after the target was up (within one 3 s gap)`)
  t.ok(within(c.openedAt - at[0], 3150), `at +${Math.round(c.openedAt - at[0])} ms (expected the 7th attempt at 3150)`)
  t.ok(c.publishStartAt !== null, 'and published')
  t.equal(target.connections.length, 1, 'one connection to the target')
  const firstFrame = mediaOf(c).find((e) => e.head[1] === 1)
  t.ok((firstFrame?.timestamp ?? 0) >= NOT_REBASED_MS,
    `the first frame it got has the publisher's timestamp ${firstFrame?.timestamp ?? 'none'} (not rebased to 0; the push began ${Math.round(c.openedAt - at[0])} ms into the publish)`)

  const log = node.edge.log().split('\n')
  const waits = streamLines(log, 'down', 's1', /push: retry in \d+ ms/).map((l) => Number(/retry in (\d+) ms/.exec(l)?.[1]))
  t.same(waits.slice(0, RETRY_WAITS_MS.length), RETRY_WAITS_MS, `edge logged the waits ${waits.join(', ')} ms`)
  const failed = attemptLines('down').length - 1
  t.equal(closedLines('down').length, failed, `one \`push: closed:\` line per failed attempt (${failed})`)
  await expectUndisturbed(t, node.edge, pub.client, player, mediaBefore, WAIT_MS)
  await expectNoHandleLeft(t, node.edge, base, [player, pub.client], 'down', 's1')
})

t.test('the target goes away mid-stream and comes back: a new connection publishes; publisher and player undisturbed', async (t) => {
  const target = targets.away
  const { pub, player, base } = await publisherAndPlayer(t, 'away')
  const first = await target.connection(0, WAIT_MS)
  await target.media(first, FLOWING, WAIT_MS)
  const before = attemptLines('away').length
  const mediaBefore = mediaCount(player)

  const goneAt = Date.now()
  await target.close()
  // a leg that had published reconnects at once; then the port is closed: 50, 100, 200 ms …
  await logged('away', /push: rtmp:\/\//, before + 4, WAIT_MS)
  const retries = attemptLines('away').slice(before).map((l) => Math.round(l.at - goneAt))
  t.comment(`after the target went away, attempts at +${retries.join(', +')} ms`)
  t.ok(retries[0] <= AT_ONCE_MS, `the first new attempt came at once (+${retries[0]} ms)`)
  const gaps = retries.slice(1).map((v, i) => v - retries[i])
  ;[50, 100, 200].forEach((expected, i) => t.ok(within(gaps[i], expected), `then ${gaps[i]} ms later (expected ${expected})`))

  await target.open()
  const backAt = Date.now()
  const second = await target.connection(1, RELAY_RECONNECT_MS + WAIT_MS)
  await target.until(() => mediaOf(second).filter((e) => e.typeId === MSG_VIDEO).length >= FLOWING, WAIT_MS, 'video on the new connection')
  t.ok(second.openedAt - backAt <= RELAY_RECONNECT_MS + TOLERANCE_MS, `a new connection ${Math.round(second.openedAt - backAt)} ms after the target came back`)
  t.ok(second.publishStartAt !== null, 'it published')
  const m = mediaOf(second)
  t.same(m.find((e) => e.typeId === MSG_VIDEO)?.head, [0x17, 0], 'the new connection starts its video with the AVC sequence header')
  const lastOld = mediaOf(first).at(-1)?.timestamp ?? 0
  t.ok((m.find((e) => e.head[1] === 1)?.timestamp ?? -1) >= lastOld - 2000,
    'its timestamps continue the publisher\'s (not rebased to 0)')
  t.ok(closedLines('away').length >= 1, 'edge logged `push: closed:` for the target going away')
  await expectUndisturbed(t, node.edge, pub.client, player, mediaBefore, WAIT_MS)
  await expectNoHandleLeft(t, node.edge, base, [player, pub.client], 'away', 's1')
})

for (const [app, what] of [['mute', 'accepts TCP and never writes a byte'], ['nopublish', 'answers connect and createStream, never publish']] as const) {
  t.test(`the target ${what}: each attempt ends relay_reconnect after it began, the next starts at once`, async (t) => {
    const target = targets[app]
    const { pub, player, base } = await publisherAndPlayer(t, app)
    const mediaBefore = mediaCount(player)
    const second = await target.connection(1, RELAY_RECONNECT_MS + WAIT_MS)
    const first = target.connections[0]
    t.ok(await target.closed(first, TOLERANCE_MS), 'the first attempt was closed as the next began')
    const held = Math.round((first.closedAt ?? NaN) - first.openedAt)
    t.ok(Math.abs(held - RELAY_RECONNECT_MS) <= DEADLINE_TOLERANCE_MS, `the edge held the first connection ${held} ms (relay_reconnect ${RELAY_RECONNECT_MS})`)
    t.notOk(first.closedByUs, 'the edge closed it, not the target')
    const gap = Math.round(second.openedAt - (first.closedAt ?? NaN))
    t.ok(gap <= AT_ONCE_MS, `the next attempt started ${gap} ms later (at once)`)
    t.ok(Math.abs(second.openedAt - first.openedAt - RELAY_RECONNECT_MS) <= DEADLINE_TOLERANCE_MS,
      `${Math.round(second.openedAt - first.openedAt)} ms after the first began (≈ ${RELAY_RECONNECT_MS})`)
    if (app === 'nopublish') {
      t.same(first.events.filter((e) => e.kind === 'command').map((e) => (e as { name: string }).name), ['connect', 'createStream', 'publish'],
        'the edge had sent connect, createStream and publish')
    }
    // the attempt's end is one line: `push: relay timeout` (as pull's) or `push: closed: <reason>`
    await logged(app, /push: (closed: |relay timeout)/, 1, DEADLINE_TOLERANCE_MS)
    const ended = streamLines(lines, app, 's1', /push: (closed: |relay timeout)/)
    t.equal(ended.length, 1, 'one line for the attempt that timed out')
    t.comment(ended[0]?.line ?? '')
    await expectUndisturbed(t, node.edge, pub.client, player, mediaBefore, WAIT_MS)
    await expectNoHandleLeft(t, node.edge, base, [player, pub.client], app, 's1')
  })
}

t.test('the target closes 1 s after Publish.Start: a new connection at once, every time', async (t) => {
  const target = targets.closing
  const { pub, player, base } = await publisherAndPlayer(t, 'closing')
  const mediaBefore = mediaCount(player)
  await target.connection(3, 3 * (CLOSE_AFTER_MS + WAIT_MS))
  const conns = target.connections.slice(0, 4)
  // the target's own close event can come after the edge's next connection was accepted
  await target.until(() => conns.slice(0, 3).every((c) => c.closedAt !== null), WAIT_MS, 'the first three closes')
  t.ok(conns.slice(0, 3).every((c) => c.publishStartAt !== null && c.closedByUs), 'the first three published and were closed by the target')
  t.ok(conns.slice(0, 3).every((c) => mediaOf(c).length > 0), 'each carried media')
  const gaps = conns.slice(1).map((c, i) => Math.round(c.openedAt - (conns[i].closedAt ?? NaN)))
  t.ok(gaps.every((g) => g >= 0 && g <= AT_ONCE_MS), `each reconnection followed the close at once (${gaps.join(', ')} ms; no back-off after a publish)`)
  await logged('closing', /push: closed: /, 3, WAIT_MS)
  t.equal(closedLines('closing').length, 3, 'one `push: closed:` line per close')
  await expectUndisturbed(t, node.edge, pub.client, player, mediaBefore, WAIT_MS)
  await expectNoHandleLeft(t, node.edge, base, [player, pub.client], 'closing', 's1')
})

t.test('two URLs on the push line, the first a closed port: the second at once', async (t) => {
  const target = targets.failover
  const { pub, player, base } = await publisherAndPlayer(t, 'failover')
  const mediaBefore = mediaCount(player)
  const c = await target.connection(0, WAIT_MS)
  await target.media(c, FLOWING, WAIT_MS)
  const tried = streamLines(lines, 'failover', 's1', /push: rtmp:\/\//)
  t.match(tried[0]?.line ?? '', `push: rtmp://127.0.0.1:${deadPort} `, 'the first URL was tried first')
  t.ok(c.openedAt - (tried[0]?.at ?? NaN) <= AT_ONCE_MS, `the second URL ${Math.round(c.openedAt - (tried[0]?.at ?? NaN))} ms later (at once, no back-off)`)
  t.equal(streamLines(lines, 'failover', 's1', /push: retry in /).length, 0, 'no back-off wait logged')
  t.ok(c.publishStartAt !== null, 'and published there')
  await expectUndisturbed(t, node.edge, pub.client, player, mediaBefore, WAIT_MS)
  await expectNoHandleLeft(t, node.edge, base, [player, pub.client], 'failover', 's1')
})
