// Notify servers and clients for the callout tests (test/faults/notify-callouts*.test.ts).
//
// NotifyServer is a ScriptedServer (fault-origins.ts: every connection recorded with when it
// opened and closed, and who closed it) that reads the one request head edge sends on each
// connection (observed §12: no reuse), records its request line, and then does what its
// `answer` says: hang, reset, answer garbage, trickle a valid head, or answer a status after a
// delay. `answer` may be swapped between steps (a server that hung starts answering 200).
//
// The clients: an RTMP session whose play/publish is timed from the moment the command is
// written to the first onStatus and to the edge's close; an HTTP-FLV player timed to its
// status line; a publisher pacing the test media in real time; the test media as one burst.
// And from /proc/net/tcp: pendingConnects(), the connects still waiting on a port that never
// accepts, and tcpState(), whether the peer of one of our connections has closed its side.
import { EventEmitter, once } from 'node:events'
import { readFileSync } from 'node:fs'
import type { Test } from 'tap'
import { encodeChunks } from '../../lib/rtmp/chunk-writer.js'
import { MSG_AUDIO, MSG_COMMAND_AMF0, MSG_VIDEO } from '../../lib/rtmp/constants.js'
import { ScriptedServer, trickle, type ScriptedConnection } from './fault-origins.js'
import { paceMedia, testMediaTags } from './origins.js'
import { RawHttpClient } from './raw-http.js'
import { RtmpTestClient } from './rtmp-client.js'
import { prng } from './unit.js'
import { wallMs } from './witness-reader.js'

/** A request head is at most this long; edge's are a few hundred bytes */
const MAX_REQUEST_HEAD_BYTES = 16 * 1024

/** One request edge sent: its request line and the connection it came on. */
export interface NotifyHit {
  /** e.g. "GET /play?call=play&act=start&domain=...&app=a&name=n&clientid=7 HTTP/1.1" */
  readonly line: string
  readonly conn: ScriptedConnection
  /** wallMs() when the head was complete */
  readonly at: number
}

/** What a notify server does once a request head has arrived. */
export type NotifyAnswer = (hit: NotifyHit, server: ScriptedServer) => void

/** A valid, complete answer head: what trickle sends, byte by byte. */
const OK_HEAD = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'

/** Reads the request and never answers; the connection stays open. */
export const hangAnswer: NotifyAnswer = () => {}

/** Resets the connection (RST) once the request has arrived. */
export const resetAnswer: NotifyAnswer = (hit) => {
  hit.conn.closedByUs = true
  hit.conn.socket.resetAndDestroy()
}

/** 512 bytes of noise and a blank line (not HTTP at all); the connection stays open. */
export const notHttpAnswer: NotifyAnswer = (hit) => {
  const rand = prng(0x0b5e55ed)
  ScriptedServer.write(hit.conn, Buffer.concat([
    Buffer.from(Array.from({ length: 512 }, () => Math.floor(rand() * 256))), Buffer.from('\r\n\r\n'),
  ]))
}

/** A complete head whose status code is not three digits ("20O"); the connection stays open. */
export const badStatusLineAnswer: NotifyAnswer = (hit) => {
  ScriptedServer.write(hit.conn, 'HTTP/1.1 20O OK\r\nContent-Length: 0\r\n\r\n')
}

/**
 * "HTTP/1.1 200 OK" and then one header line that never ends: `bytes` more of it every
 * `everyMs`, never a CRLF CRLF. A client that takes the status line for the answer accepts at
 * once; one that waits for the head must give up at its deadline.
 */
export function endlessHeaderAnswer(everyMs: number, bytes: number): NotifyAnswer {
  return (hit, server) => {
    ScriptedServer.write(hit.conn, 'HTTP/1.1 200 OK\r\nX-Pad: ')
    const timer = server.every(everyMs, () => ScriptedServer.write(hit.conn, 'a'.repeat(bytes)))
    hit.conn.socket.once('close', () => server.clear(timer))
  }
}

/** A valid 200 head, one byte every `everyMs` (38 bytes: done long after a short timeout=). */
export function trickleAnswer(everyMs: number): NotifyAnswer {
  const write = trickle(everyMs)
  return (hit, server) => write(hit.conn, server, Buffer.from(OK_HEAD, 'latin1'))
}

/** `status` after `delayMs` (at once for 0), Content-Length 0, the connection kept open. */
export function statusAnswer(status: number, delayMs = 0): NotifyAnswer {
  return (hit, server) => {
    const head = `HTTP/1.1 ${status} X\r\nContent-Length: 0\r\n\r\n`
    if (delayMs === 0) {
      ScriptedServer.write(hit.conn, head)
      return
    }
    const timer = setTimeout(() => {
      server.timers.delete(timer)
      ScriptedServer.write(hit.conn, head)
    }, delayMs)
    server.timers.add(timer)
  }
}

/** The raw value of `key` in a request line's query ('' when absent). */
export function param(line: string, key: string): string {
  const target = line.split(' ')[1] ?? ''
  const q = target.indexOf('?')
  for (const part of (q === -1 ? '' : target.slice(q + 1)).split('&')) {
    const eq = part.indexOf('=')
    if (eq !== -1 && part.slice(0, eq) === key) return part.slice(eq + 1)
  }
  return ''
}

/** A predicate on hits: every given query parameter has the given value. */
export function where(params: Readonly<Record<string, string>>): (h: NotifyHit) => boolean {
  return (h) => Object.entries(params).every(([k, v]) => param(h.line, k) === v)
}

export class NotifyServer extends EventEmitter {
  readonly hits: NotifyHit[] = []
  /** the most connections that were open at once */
  peakOpen = 0
  private open = 0

  private constructor(readonly scripted: ScriptedServer, public answer: NotifyAnswer) {
    super()
    scripted.on('connection', () => { this.peakOpen = Math.max(this.peakOpen, ++this.open) })
    scripted.on('close', () => { this.open-- })
  }

  /** A notify server on 127.0.0.1 answering with `answer`; stopped in t's teardown. */
  static async start(t: Test, answer: NotifyAnswer): Promise<NotifyServer> {
    let self: NotifyServer | null = null
    const scripted = await ScriptedServer.start((conn, server) => {
      let head = ''
      conn.socket.setEncoding('latin1')
      const onData = (d: string): void => {
        head += d
        const end = head.indexOf('\r\n\r\n')
        if (end === -1) {
          if (head.length > MAX_REQUEST_HEAD_BYTES) conn.socket.destroy()
          return
        }
        conn.socket.off('data', onData)
        // keep reading (and dropping) whatever else comes, so edge's writes never block
        conn.socket.resume()
        const s = self as NotifyServer
        const hit: NotifyHit = { line: head.slice(0, head.indexOf('\r\n')), conn, at: wallMs() }
        s.hits.push(hit)
        s.emit('hit', hit)
        s.answer(hit, server)
      }
      conn.socket.on('data', onData)
    })
    self = new NotifyServer(scripted, answer)
    t.teardown(() => scripted.stop())
    return self
  }

  get port(): number {
    return this.scripted.port
  }

  /** Connections open now. */
  get openNow(): number {
    return this.open
  }

  count(pred: (h: NotifyHit) => boolean): number {
    return this.hits.reduce((n, h) => n + (pred(h) ? 1 : 0), 0)
  }

  /** The n-th (0-based) hit matching `pred`, waiting for it; rejects after `timeoutMs`. */
  async hit(pred: (h: NotifyHit) => boolean, n = 0, timeoutMs = 5000): Promise<NotifyHit> {
    const signal = AbortSignal.timeout(timeoutMs)
    for (;;) {
      const found = this.hits.filter(pred)
      if (found.length > n) return found[n]
      try {
        await once(this, 'hit', { signal })
      } catch (err) {
        if (!signal.aborted) throw err
        throw new Error(`no request #${n} of the wanted kind within ${timeoutMs} ms; got:\n${this.hits.map((h) => h.line).join('\n')}`)
      }
    }
  }

  /**
   * Watches until wallMs() reaches `untilMs`: resolves with how many hits match `pred` by then,
   * returning early once that is more than `atMost` (an observation window that is expected to
   * pass quietly, not a synchronisation).
   */
  async countUntil(pred: (h: NotifyHit) => boolean, untilMs: number, atMost: number): Promise<number> {
    for (;;) {
      const n = this.count(pred)
      const left = untilMs - wallMs()
      if (n > atMost || left <= 0) return n
      try {
        await once(this, 'hit', { signal: AbortSignal.timeout(Math.ceil(left)) })
      } catch (err) {
        if ((err as Error).name !== 'AbortError') throw err
      }
    }
  }
}

// ---- /proc/net/tcp ---------------------------------------------------------------------------

/** TCP state SYN_SENT in /proc/net/tcp's `st` column (include/net/tcp_states.h) */
const TCP_SYN_SENT = '02'

/** 127.0.0.1:`port` as /proc/net/tcp writes an address (little-endian IPv4, port in hex) */
function loopback(port: number): string {
  return `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`
}

/** The rows of /proc/net/tcp as [local, remote, state]. */
function tcpRows(): [string, string, string][] {
  return readFileSync('/proc/net/tcp', 'latin1').split('\n').slice(1).map((line) => {
    const f = line.trim().split(/\s+/)
    return [f[1], f[2], f[3]]
  })
}

/**
 * Connects to 127.0.0.1:`port` that are still waiting (SYN_SENT), from any process of this
 * network namespace: against a port that never accepts (unacceptingPort) they are the notify
 * requests in flight.
 */
export function pendingConnects(port: number): number {
  const remote = loopback(port)
  return tcpRows().filter(([, r, st]) => r === remote && st === TCP_SYN_SENT).length
}

/** TCP state ESTABLISHED in /proc/net/tcp */
export const TCP_ESTABLISHED = '01'

/**
 * The state of the connection from 127.0.0.1:`localPort` to 127.0.0.1:`remotePort` as
 * /proc/net/tcp has it ('08' CLOSE_WAIT once the peer sent FIN), or '' once it is gone (reset).
 */
export function tcpState(localPort: number, remotePort: number): string {
  const local = loopback(localPort)
  const remote = loopback(remotePort)
  return tcpRows().find(([l, r]) => l === local && r === remote)?.[2] ?? ''
}

// ---- clients ---------------------------------------------------------------------------------

/** The three fields of an onStatus info object. */
export interface StatusInfo {
  readonly level?: string
  readonly code?: string
  readonly description?: string
}

export const PLAY_FORBIDDEN: StatusInfo = { level: 'status', code: 'NetStream.Play.Forbidden', description: 'Play stream Forbidden' }

export function statusInfos(c: RtmpTestClient): StatusInfo[] {
  return c.messages.filter((m) => m.values?.[0] === 'onStatus').map((m) => {
    const info = (m.values?.[3] ?? {}) as Record<string, unknown>
    return { level: info.level as string, code: info.code as string, description: info.description as string }
  })
}

export function mediaCount(c: RtmpTestClient): number {
  let n = 0
  for (const m of c.messages) if (m.typeId === MSG_AUDIO || m.typeId === MSG_VIDEO) n++
  return n
}

/** Paces the test media into `c`'s stream 1 in real time (a second's burst first); returns the stop function. */
export function paceInto(c: RtmpTestClient): () => void {
  const stop = paceMedia((tag, ts) => {
    if (c.closed) return
    const csid = tag.typeId === 8 ? 6 : tag.typeId === 9 ? 7 : 5
    c.send(csid, tag.typeId, 1, ts, tag.payload)
  })
  c.socket.once('close', stop)
  return stop
}

/** A bounded wait of RtmpTestClient or RawHttpClient that ran out, or the peer closing first. */
function isWaitFailure(err: unknown): boolean {
  return err instanceof Error && /timed out|closed before/.test(err.message)
}

/**
 * At least `bytes` of the test media, looped with rising timestamps, as RTMP chunks of
 * `chunkSize` on message stream 1: what a publisher reading a file without -re writes at once.
 */
export function mediaBurst(bytes: number, chunkSize: number): Buffer {
  const tags = testMediaTags()
  const loopMs = tags[tags.length - 1].timestamp + 40
  const parts: Buffer[] = []
  let total = 0
  for (let loop = 0; total < bytes; loop++) {
    for (const tag of tags) {
      const b = encodeChunks(tag.typeId === 8 ? 6 : tag.typeId === 9 ? 7 : 5, tag.typeId, 1, loop * loopMs + tag.timestamp, tag.payload, chunkSize)
      parts.push(b)
      total += b.length
    }
  }
  // copy: one buffer, written in one go
  return Buffer.concat(parts, total)
}

/** An RTMP play or publish and what came of it. */
export interface RtmpAttempt {
  readonly client: RtmpTestClient
  /** wallMs() when the play/publish command was written */
  readonly sentAt: number
  /** ms from then to the first onStatus, null if none came within the wait */
  readonly statusMs: number | null
  /** ms from then to the edge closing the connection, null if it did not within the wait */
  closedMs: number | null
  /** the paced media's stop function (publish with `pace`) */
  readonly stopPacing: (() => void) | null
}

export interface RtmpAttemptOptions {
  readonly port: number
  readonly app: string
  readonly name: string
  readonly verb: 'play' | 'publish'
  /** how long to wait for the first onStatus */
  readonly statusWaitMs: number
  /** after a Play.Forbidden, how long to wait for the close */
  readonly closeWaitMs: number
  /** publish: pace media from the moment publish is written, as ffmpeg does (not after Publish.Start) */
  readonly pace?: boolean
}

/** connect(app) and createStream, then play/publish `name`, timed. The client is closed in t's teardown. */
export async function rtmpAttempt(t: Test, o: RtmpAttemptOptions): Promise<RtmpAttempt> {
  const client = await RtmpTestClient.open(o.port)
  t.teardown(() => client.close())
  await client.connectApp(o.app, {}, o.port)
  const ready = await readyToPlay(client)
  return attemptOn(client, ready, o)
}

/** createStream on a connected client; resolves with the index its next messages start at. */
export async function readyToPlay(client: RtmpTestClient): Promise<number> {
  const from = client.messages.length
  client.command(0, 'createStream', 2, null)
  await client.next((m) => m.values?.[0] === '_result' && m.values?.[1] === 2, 5000, from)
  return client.messages.length
}

/** Write play/publish on a client readyToPlay() prepared, and time the outcome. */
export async function attemptOn(client: RtmpTestClient, from: number, o: RtmpAttemptOptions): Promise<RtmpAttempt> {
  const sentAt = wallMs()
  if (o.verb === 'play') client.command(1, 'play', 0, null, o.name, -2000)
  else client.command(1, 'publish', 0, null, o.name, 'live')
  const stopPacing = o.verb === 'publish' && o.pace === true ? paceInto(client) : null
  let statusMs: number | null = null
  try {
    await client.next((m) => m.typeId === MSG_COMMAND_AMF0 && m.values?.[0] === 'onStatus', o.statusWaitMs, from)
    statusMs = wallMs() - sentAt
  } catch (err) {
    // no status within the wait, or closed without one: statusMs stays null and the test says so
    if (!isWaitFailure(err)) throw err
  }
  const attempt: RtmpAttempt = { client, sentAt, statusMs, closedMs: null, stopPacing }
  const first = statusInfos(client)[0]
  if (first?.code === PLAY_FORBIDDEN.code || client.closed) {
    try {
      await client.until(() => client.closed, o.closeWaitMs, 'the close')
    } catch (err) {
      // still open: closedMs stays null and the test says so
      if (!isWaitFailure(err)) throw err
    }
  }
  if (client.closed) attempt.closedMs = wallMs() - sentAt
  return attempt
}

/** An HTTP-FLV play: `GET /flv/<name>.flv?app=<app>`, waited for up to its status line. Closed in t's teardown. */
export async function flvAttempt(t: Test, port: number, app: string, name: string, headWaitMs: number): Promise<RawHttpClient> {
  const client = await RawHttpClient.request(port, `/flv/${name}.flv?app=${app}`)
  t.teardown(() => client.close())
  try {
    await client.waitHead(headWaitMs)
  } catch (err) {
    // no head within the wait: status stays null and the test says so
    if (!isWaitFailure(err)) throw err
  }
  return client
}

/** A publisher of app/name pacing the test media once it has Publish.Start; closed in t's teardown. */
export async function feed(t: Test, port: number, app: string, name: string): Promise<RtmpTestClient> {
  const client = await RtmpTestClient.open(port)
  t.teardown(() => client.close())
  await client.connectApp(app, {}, port)
  client.setChunkSize(4096)
  const status = await client.publish(name)
  if (RtmpTestClient.code(status) !== 'NetStream.Publish.Start') throw new Error(`feed ${app}/${name}: ${RtmpTestClient.code(status)}`)
  paceInto(client)
  return client
}
