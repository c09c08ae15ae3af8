// Pieces shared by the push tests (issue 11; test/interop/push-scenario35.test.ts,
// test/faults/push-target.test.ts): an AMF-level publisher that streams the test media in real
// time (so a test can read the statuses edge sends it), the arrival time of edge's log lines
// (a closed port records no attempt, edge's `push: rtmp://...` line does), and the checks every
// fault case ends with.
import type { Test } from 'tap'
import { encodeAmf0 } from '../../lib/amf/amf0.js'
import { MSG_AUDIO, MSG_DATA_AMF0, MSG_VIDEO } from '../../lib/rtmp/constants.js'
import type { EdgeProcess } from './node.js'
import { paceMedia } from './origins.js'
import { mediaCount, statuses } from './pull-scenarios.js'
import { RtmpTestClient } from './rtmp-client.js'
import { baseline, expectBaseline } from './witness.js'
import { wallMs } from './witness-reader.js'

/** chunk streams the paced publisher writes on (as ffmpeg does) */
const CSID_DATA = 4
const CSID_AUDIO_OUT = 6
const CSID_VIDEO_OUT = 7
/** the publisher's outgoing chunk size */
const PUBLISHER_CHUNK_BYTES = 4096

export interface PacedPublisher {
  readonly client: RtmpTestClient
  /** the first onStatus after publish */
  readonly firstStatus: { level?: string, code?: string, description?: string }
  /** stop sending media (the connection stays) */
  stopMedia(): void
}

/**
 * An RtmpTestClient that connects to `app` (tcUrl `rtmp://127.0.0.1:<port>/<app>`, flashVer
 * "LNX 9,0,124,2"), publishes `name` (query included), and once it has Publish.Start sends the
 * test media in real time: @setDataFrame onMetaData, the sequence headers, then the frames,
 * looping. Closed in t's teardown.
 */
export async function pacedPublisher(t: Test, port: number, app: string, name: string, extra: Record<string, string> = {}): Promise<PacedPublisher> {
  const client = await RtmpTestClient.open(port)
  let stop: (() => void) | null = null
  t.teardown(async () => {
    stop?.()
    await client.close()
  })
  const connected = await client.connectApp(app, { tcUrl: `rtmp://127.0.0.1:${port}/${app}`, ...extra })
  if (connected.values?.[0] !== '_result') throw new Error(`connect to ${app} answered ${String(connected.values?.[0])}`)
  client.setChunkSize(PUBLISHER_CHUNK_BYTES)
  const status = await client.publish(name)
  const firstStatus = (status.values?.[3] ?? {}) as { level?: string, code?: string, description?: string }
  if (firstStatus.code === 'NetStream.Publish.Start') {
    stop = paceMedia((tag, ts) => {
      if (client.closed) return
      if (tag.typeId === MSG_DATA_AMF0) client.send(CSID_DATA, MSG_DATA_AMF0, 1, ts, Buffer.concat([encodeAmf0('@setDataFrame'), tag.payload]))
      else if (tag.typeId === MSG_AUDIO) client.send(CSID_AUDIO_OUT, MSG_AUDIO, 1, ts, tag.payload)
      else if (tag.typeId === MSG_VIDEO) client.send(CSID_VIDEO_OUT, MSG_VIDEO, 1, ts, tag.payload)
    }, 0)
    client.socket.once('close', () => stop?.())
  }
  return { client, firstStatus, stopMedia: () => stop?.() }
}

/** A local RTMP player of `<app>/<name>` on the edge; throws unless it gets Play.Start. Closed in t's teardown. */
export async function localPlayer(t: Test, port: number, app: string, name: string): Promise<RtmpTestClient> {
  const p = await RtmpTestClient.open(port)
  t.teardown(() => p.close())
  await p.connectApp(app, { tcUrl: `rtmp://127.0.0.1:${port}/${app}` })
  const status = await p.play(name)
  if (RtmpTestClient.code(status) !== 'NetStream.Play.Start') throw new Error(`play ${app}/${name}: ${RtmpTestClient.code(status)}`)
  return p
}

export interface TimedLine {
  /** wallMs() when the test process read the line from edge's stderr */
  readonly at: number
  readonly line: string
}

/**
 * Every log line edge writes from now on, stamped with the time this process read it (a few
 * ms after edge wrote it): the clock of attempts at a closed port, which nothing else records.
 */
export function timedLog(edge: EdgeProcess): TimedLine[] {
  const lines: TimedLine[] = []
  let partial = ''
  edge.child.stderr?.on('data', (d: string | Buffer) => {
    const at = wallMs()
    partial += d.toString()
    const parts = partial.split('\n')
    partial = parts.pop() ?? ''
    for (const line of parts) lines.push({ at, line })
  })
  return lines
}

/** Log lines of one stream (`, app: <app>, name: <name>` context) matching `re`. */
export function streamLines<T extends { line: string } | string>(lines: readonly T[], app: string, name: string, re: RegExp): T[] {
  const ctx = `app: ${app}, name: ${name}`
  return lines.filter((l) => {
    const s = typeof l === 'string' ? l : l.line
    return s.includes(ctx) && re.test(s)
  })
}

/** The error statuses a client received (level error, or `_error`). */
export function errorStatuses(c: RtmpTestClient): string[] {
  const out: string[] = []
  for (const m of c.messages) {
    if (m.values?.[0] === '_error') out.push(`_error ${String((m.values?.[3] as { code?: string } | undefined)?.code)}`)
  }
  for (const s of statuses(c)) if (s.level === 'error') out.push(`onStatus ${s.code ?? ''}`)
  return out
}

/**
 * The end of every fault case: the publisher is still connected and got no error status,
 * the local player is still connected and received more media since `mediaBefore`, and edge
 * logged no [alert]/[crit]/[emerg] or internal error (other than `expectedLines`, the fault's own).
 */
export async function expectUndisturbed(t: Test, edge: EdgeProcess, publisher: RtmpTestClient, player: RtmpTestClient, mediaBefore: number, waitMs: number,
  expectedLines?: RegExp): Promise<void> {
  // a timeout is reported by the assertion, with the count
  const more = await player.until(() => mediaCount(player) > mediaBefore + 25 || player.closed, waitMs, 'more media at the local player')
    .then(() => mediaCount(player) > mediaBefore + 25, () => false)
  t.ok(more, `the local player kept receiving media (${mediaCount(player) - mediaBefore} more messages)`)
  t.notOk(player.closed, 'the local player is still connected')
  t.notOk(publisher.closed, 'the publisher is still connected')
  t.same(errorStatuses(publisher), [], 'the publisher got no error status')
  const others = edge.log().split('\n').filter((l) => expectedLines === undefined || !expectedLines.test(l))
  t.same(others.filter((l) => /\[(alert|crit|emerg)\]|internal error/.test(l)), [],
    `no [alert], [crit], [emerg] or internal error in the log${expectedLines === undefined ? '' : ' (but the fault\'s own line)'}`)
}

/** bound on the edge stopping a stream's push legs once its publisher has left */
const STOP_WAIT_MS = 5000

/** The edge's descriptors and RSS before a fault case (see expectNoHandleLeft). */
export type EdgeBaseline = ReturnType<typeof baseline>
export { baseline }

/**
 * The publisher and the player of <app>/<name> leave; the edge logs `push: stopped:` for the
 * stream and comes back to the descriptors (and RSS) it had before the case: no handle left.
 */
export async function expectNoHandleLeft(t: Test, edge: EdgeProcess, base: EdgeBaseline, clients: readonly RtmpTestClient[], app: string, name: string): Promise<void> {
  for (const c of clients) await c.close()
  // one publisher per stream in these cases: its only `push: stopped:` line
  await edge.waitForLog(new RegExp(`push: stopped: [^\\n]*app: ${app}, name: ${name}`), STOP_WAIT_MS)
  await expectBaseline(t, edge, base.base, base.fds)
}

/** timing tolerance on a loaded 2-core machine: a fixed part plus a share of the expected time */
export const TOLERANCE_MS = 80
const TOLERANCE_SHARE = 0.15

/** `value` (ms) is `expected` within the push tests' tolerance. */
export function within(value: number, expected: number): boolean {
  return Math.abs(value - expected) <= TOLERANCE_MS + TOLERANCE_SHARE * expected
}
