// Static pull retry timing: pingos-behaviour.md §2.5 and §13 scenarios 13–15 (ports picked at
// run time), pingos-observed.md §5. Times are the instrumented origin's accept and close times
// (`at`, `closedAt`), so they measure what an origin observes. Tolerance ±30 ms (§13) unless a
// scenario names another.
import { once } from 'node:events'
import { createServer, type Socket } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
import t from 'tap'
import { FakeRtmpOrigin, type OriginConnection } from '../helpers/origins.js'
import { freePort } from '../helpers/node.js'
import { isKeyframeMessage, isUserControl, playerH, playerR, startEdgeB, statusInfo } from '../helpers/pull-scenarios.js'

/** §13 timing tolerance */
const TOLERANCE_MS = 30
/** §2.5: failed_reconnect 50 ms doubled per fast failure, capped at relay_reconnect (3 s) */
const BACKOFF_DELTAS_MS = [50, 100, 200, 400, 800, 1600, 3000]
/** §13 scenario 13: the player stays attached this long */
const ATTACHED_MS = 8000
/** server{} `timeout 5s` of config B: an HTTP-FLV player with no media gets 503 then */
const HTTP_TIMEOUT_MS = 5000
/** relay_reconnect: the attempt deadline */
const DEADLINE_MS = 3000
/** scenario 14's period tolerance (the brief's ±100 ms: a 3 s timer plus a TCP connect) */
const DEADLINE_TOLERANCE_MS = 100
/** §13 scenario 15: the next URL is contacted this soon */
const FAILOVER_WITHIN_MS = 50
/** §2.4: the origin connection is gone this soon after the last player left */
const STOP_WITHIN_MS = 100
/** bound on every wait for media, a connection or a close */
const WAIT_MS = 10_000

/** Wait (bounded) until `conn` is closed; its closedAt. */
async function closed(origin: FakeRtmpOrigin, conn: OriginConnection, timeoutMs: number): Promise<number> {
  const signal = AbortSignal.timeout(timeoutMs)
  while (conn.closedAt === null) await once(origin, 'close', { signal })
  return conn.closedAt
}

/** Wait until `conn` is closed or the clock reaches `deadline` (ms since epoch); its closedAt, or null if still open. */
function closedBy(origin: FakeRtmpOrigin, conn: OriginConnection, deadline: number): Promise<number | null> {
  return new Promise((resolve) => {
    if (conn.closedAt !== null || deadline <= Date.now()) {
      resolve(conn.closedAt)
      return
    }
    const done = (): void => {
      clearTimeout(timer)
      origin.off('close', onClose)
      resolve(conn.closedAt)
    }
    const onClose = (c: OriginConnection): void => { if (c === conn) done() }
    const timer = setTimeout(done, deadline - Date.now())
    origin.on('close', onClose)
  })
}

const within = (value: number, expected: number, tolerance: number): boolean => Math.abs(value - expected) <= tolerance

t.test('scenario 13: back-off while the origin closes at once', async (t) => {
  const origin = await FakeRtmpOrigin.start({ kind: 'close-on-accept' })
  t.teardown(() => origin.stop())
  const { rtmpPort, httpPort } = await startEdgeB(t, `pull rtmp://127.0.0.1:${origin.port} app=live;`)

  const r = await playerR(t, rtmpPort)
  t.equal(statusInfo(r.firstStatus).code, 'NetStream.Play.Start', 'player R gets Play.Start')
  // an HTTP-FLV player of the same stream, waiting for media that never comes
  const h = await playerH(t, httpPort)

  const attempts = BACKOFF_DELTAS_MS.length + 1
  await origin.connection(attempts - 1, WAIT_MS)
  const at = origin.connections.map((c) => c.at)
  const deltas = at.slice(1, attempts).map((v, i) => v - at[i])
  t.comment(`attempts at t+${at.slice(0, attempts).map((v) => v - at[0]).join(', t+')} ms`)
  BACKOFF_DELTAS_MS.forEach((expected, i) => {
    t.ok(within(deltas[i], expected, TOLERANCE_MS), `attempt ${i + 2} came ${deltas[i]} ms after the previous one (${expected} ± ${TOLERANCE_MS})`)
  })
  t.comment(`the first attempt came ${at[0] - r.playSentAt} ms after the play`)

  await h.waitHead(WAIT_MS)
  t.equal(h.status, 503, 'player H gets 503')
  const hAt = h.firstByteMs as number
  t.ok(hAt >= HTTP_TIMEOUT_MS - TOLERANCE_MS && hAt <= HTTP_TIMEOUT_MS + 3 * TOLERANCE_MS,
    `player H got its first byte ${Math.round(hAt)} ms after its request (timeout 5s)`)

  // "the player stays connected" is observed by waiting the rest of its 8 s
  const left = r.playSentAt + ATTACHED_MS - Date.now()
  if (left > 0) await delay(left)
  t.notOk(r.client.closed, `player R is still connected ${Date.now() - r.playSentAt} ms after its play`)
  t.notOk(r.client.messages.some((m) => m.values?.[0] === 'onStatus' && statusInfo(m).level === 'error'), 'and got no error status')
})

t.test('scenario 14: the attempt deadline', async (t) => {
  const origin = await FakeRtmpOrigin.start({ kind: 'silent-after-handshake' })
  t.teardown(() => origin.stop())
  const { rtmpPort } = await startEdgeB(t, `pull rtmp://127.0.0.1:${origin.port} app=live;`)

  const r = await playerR(t, rtmpPort)
  // two full periods: connections 0, 1 and 2
  await origin.connection(2, 2 * DEADLINE_MS + WAIT_MS)
  const t0 = origin.connections[0].at
  for (const i of [0, 1]) {
    const c = origin.connections[i]
    const closedAt = await closedBy(origin, c, c.at + DEADLINE_MS + DEADLINE_TOLERANCE_MS)
    if (closedAt === null) {
      t.fail(`connection ${i} (opened at t+${c.at - t0}) is still open ${Date.now() - c.at} ms after it started`)
      continue
    }
    t.ok(within(closedAt - c.at, DEADLINE_MS, DEADLINE_TOLERANCE_MS),
      `connection ${i} closed by the edge ${closedAt - c.at} ms after it started (${DEADLINE_MS} ± ${DEADLINE_TOLERANCE_MS})`)
    const next = origin.connections[i + 1]
    t.ok(next.at - closedAt <= TOLERANCE_MS, `the next one opened ${next.at - closedAt} ms later (at once)`)
    t.ok(within(next.at - c.at, DEADLINE_MS, DEADLINE_TOLERANCE_MS), `period ${next.at - c.at} ms`)
    t.equal(c.commands.map((x) => x.name).join(','), 'connect', 'it had sent connect and got no answer')
  }
  t.comment(`connections at t+${origin.connections.map((c) => `${c.at - t0}${c.closedAt === null ? ' (open)' : `..${c.closedAt - t0}`}`).join(', t+')}`)
  t.equal(origin.connections.length, 3, 'one attempt per period, no other connection')
  t.notOk(r.client.closed, 'player R stays connected')

  // the player leaves: no origin connection may remain
  const leftAt = Date.now()
  await r.client.close()
  for (const [i, c] of origin.connections.entries()) {
    const closedAt = await closedBy(origin, c, leftAt + STOP_WITHIN_MS)
    t.ok(closedAt !== null, `connection ${i} is closed within ${STOP_WITHIN_MS} ms of the player leaving`)
  }
})

t.test('scenario 15: failover to the second URL, back to the first after success', async (t) => {
  const deadPort = await freePort()
  const origin = await FakeRtmpOrigin.start({ kind: 'serve-then-close', afterMs: 1500 })
  t.teardown(() => origin.stop())
  const { rtmpPort } = await startEdgeB(t, `pull rtmp://127.0.0.1:${deadPort} rtmp://127.0.0.1:${origin.port} app=live;`)

  const r = await playerR(t, rtmpPort)
  const first = await origin.connection(0)
  t.ok(first.at - r.playSentAt < FAILOVER_WITHIN_MS,
    `the live origin was contacted ${first.at - r.playSentAt} ms after the play, nothing listening on the first URL (< ${FAILOVER_WITHIN_MS})`)
  await r.client.next(isKeyframeMessage, WAIT_MS)
  t.pass('media flows from the second URL')

  // now something listens on the first URL: it records the attempt and closes at once
  const deadAccepts: number[] = []
  const deadSockets = new Set<Socket>()
  const dead = createServer((s) => {
    deadAccepts.push(Date.now())
    deadSockets.add(s)
    s.on('error', () => {})
    s.destroy()
    dead.emit('accepted')
  })
  dead.listen(deadPort, '127.0.0.1')
  await once(dead, 'listening')
  t.teardown(async () => {
    for (const s of deadSockets) s.destroy()
    dead.close()
    await once(dead, 'close')
  })
  origin.mode = { kind: 'serve' }

  const eofAt = await closed(origin, first, WAIT_MS)
  if (deadAccepts.length === 0) await once(dead, 'accepted', { signal: AbortSignal.timeout(WAIT_MS) })
  const second = await origin.connection(1, WAIT_MS)
  t.ok(deadAccepts[0] - eofAt <= FAILOVER_WITHIN_MS,
    `after the live origin ended the stream, the first URL was tried ${deadAccepts[0] - eofAt} ms later`)
  t.ok(second.at >= deadAccepts[0], 'the first URL before the second one')
  t.ok(second.at - deadAccepts[0] <= FAILOVER_WITHIN_MS, `then the second URL ${second.at - deadAccepts[0]} ms after the first failed`)
  t.equal(deadAccepts.length, 1, 'one attempt at the first URL')

  const eof = r.client.messages.findIndex((m) => isUserControl(m, 1))
  t.ok(eof > 0, 'player R got StreamEOF(1)')
  await r.client.next(isKeyframeMessage, WAIT_MS, eof + 1)
  t.pass('media flows again')
  t.notOk(r.client.closed, 'player R stayed connected')
})
