// A scripted RTMP publish target for the push tests (issue 11; pingos-behaviour.md §5,
// pingos-observed.md §14): the server an edge `push` leg connects to. It logs every message it
// receives, in order (protocol control, commands with their transaction, chunk stream and
// message stream ids, user control events, data and media with their timestamps), and answers
// `publish` as the test scripts it. It can also stand for a port that is closed and opened
// later (`PushTarget.reserve()` then `open()`), or go away mid-stream (`close()`).
//
// Built on edge's codecs like test/helpers/origins.ts, so it proves what edge sends, not that
// edge interoperates: nginx-rtmp as a target is tested in test/interop/cluster.test.ts.
import { EventEmitter, once } from 'node:events'
import { createServer, type Server, type Socket } from 'node:net'
import { decodeAmf0All, type AmfValue } from '../../lib/amf/amf0.js'
import { ChunkReader, type ChunkMessage } from '../../lib/rtmp/chunk-reader.js'
import {
  commandMessage, connectResultMessage, decodeCommand, resultMessage, setChunkSizeMessage, statusMessage,
  userControlMessage, type StatusLevel,
} from '../../lib/rtmp/commands.js'
import {
  MSG_ACK, MSG_AUDIO, MSG_COMMAND_AMF0, MSG_COMMAND_AMF3, MSG_DATA_AMF0, MSG_SET_CHUNK_SIZE, MSG_USER_CONTROL,
  MSG_VIDEO, MSG_WINDOW_ACK_SIZE, UC_STREAM_BEGIN,
} from '../../lib/rtmp/constants.js'
import { ServerHandshake, ServerHandshakeState } from '../../lib/rtmp/handshake.js'
import { freePort } from './node.js'
import { wallMs } from './witness-reader.js'

/** the chunk size the target announces and writes with */
const TARGET_CHUNK_BYTES = 4096

/** How the target answers a connection. */
export type PushTargetAnswer =
  /** connect, createStream and publish answered: StreamBegin(1), then onStatus NetStream.Publish.Start */
  | { readonly kind: 'start' }
  /** as 'start', then the target closes the connection `afterMs` after Publish.Start */
  | { readonly kind: 'start-then-close', readonly afterMs: number }
  /** publish answered with onStatus {level, code, description} (e.g. error NetStream.Publish.BadName) */
  | { readonly kind: 'status', readonly level: StatusLevel, readonly code: string, readonly description: string }
  /** publish answered with `_error` {level error, code, description} */
  | { readonly kind: 'error', readonly code: string, readonly description: string }
  /** connect and createStream answered, publish never */
  | { readonly kind: 'no-publish-answer' }
  /** TCP accepted, then nothing at all is written (not even the handshake) */
  | { readonly kind: 'mute' }
  /** TCP accepted and reset at once (a refusing port whose attempts are still counted) */
  | { readonly kind: 'reset' }

/** One message the target received, in arrival order. */
export type TargetEvent =
  | { readonly kind: 'set-chunk-size', readonly at: number, readonly size: number }
  | { readonly kind: 'window-ack-size', readonly at: number, readonly size: number }
  | { readonly kind: 'ack', readonly at: number, readonly bytes: number }
  | {
    readonly kind: 'command', readonly at: number, readonly name: string, readonly transactionId: number,
    readonly object: AmfValue, readonly args: readonly AmfValue[], readonly csid: number, readonly streamId: number,
  }
  | { readonly kind: 'user-control', readonly at: number, readonly event: number, readonly value: number }
  | { readonly kind: 'data', readonly at: number, readonly values: readonly AmfValue[], readonly csid: number, readonly streamId: number, readonly timestamp: number }
  | {
    readonly kind: 'media', readonly at: number, readonly typeId: number, readonly timestamp: number, readonly csid: number,
    readonly streamId: number, readonly bytes: number,
    /** the first two payload bytes: frame type / codec and the AVC/AAC packet type */
    readonly head: readonly number[],
  }
  | { readonly kind: 'other', readonly at: number, readonly typeId: number }

/** One TCP connection to the target. */
export interface TargetConnection {
  readonly socket: Socket
  /** wallMs() when it was accepted */
  readonly openedAt: number
  closedAt: number | null
  /** the target closed it itself (reset, start-then-close, close()) */
  closedByUs: boolean
  /** wallMs() when the target wrote Publish.Start, null if it did not */
  publishStartAt: number | null
  readonly events: TargetEvent[]
}

/** A short text of an event for test messages: `connect(txn 1) csid 3 msid 0`, `video ts 40`... */
export function describeEvent(e: TargetEvent): string {
  switch (e.kind) {
    case 'command': return `${e.name}(txn ${e.transactionId}) csid ${e.csid} msid ${e.streamId}`
    case 'media': return `${e.typeId === MSG_AUDIO ? 'audio' : 'video'} ts ${e.timestamp}`
    case 'data': return `data ${String(e.values[0])}`
    case 'user-control': return `user-control ${e.event}(${e.value})`
    case 'set-chunk-size': return `set-chunk-size ${e.size}`
    case 'window-ack-size': return `window-ack-size ${e.size}`
    case 'ack': return `ack ${e.bytes}`
    default: return `type ${e.typeId}`
  }
}

/** The commands a connection received, in order. */
export function commandsOf(c: TargetConnection): Extract<TargetEvent, { kind: 'command' }>[] {
  return c.events.filter((e): e is Extract<TargetEvent, { kind: 'command' }> => e.kind === 'command')
}

/** The media (audio/video) messages a connection received, in order. */
export function mediaOf(c: TargetConnection): Extract<TargetEvent, { kind: 'media' }>[] {
  return c.events.filter((e): e is Extract<TargetEvent, { kind: 'media' }> => e.kind === 'media')
}

/** The connect command object of a connection (keys in wire order), or null before connect. */
export function connectObject(c: TargetConnection): Record<string, AmfValue> | null {
  const cmd = commandsOf(c).find((e) => e.name === 'connect')
  return cmd === undefined ? null : (cmd.object ?? {}) as Record<string, AmfValue>
}

/** The stream name argument of the connection's `publish`, or null. */
export function publishedName(c: TargetConnection): string | null {
  const cmd = commandsOf(c).find((e) => e.name === 'publish')
  return cmd === undefined ? null : String(cmd.args[0])
}

function eventOf(m: ChunkMessage, at: number): TargetEvent {
  const p = m.payload
  switch (m.typeId) {
    case MSG_SET_CHUNK_SIZE: return { kind: 'set-chunk-size', at, size: p.readUInt32BE(0) }
    case MSG_WINDOW_ACK_SIZE: return { kind: 'window-ack-size', at, size: p.readUInt32BE(0) }
    case MSG_ACK: return { kind: 'ack', at, bytes: p.readUInt32BE(0) }
    case MSG_USER_CONTROL: return { kind: 'user-control', at, event: p.readUInt16BE(0), value: p.length >= 6 ? p.readUInt32BE(2) : -1 }
    case MSG_COMMAND_AMF0:
    case MSG_COMMAND_AMF3: {
      const cmd = decodeCommand(p, m.typeId === MSG_COMMAND_AMF3)
      return { kind: 'command', at, name: cmd.name, transactionId: cmd.transactionId, object: cmd.object, args: cmd.args, csid: m.csid, streamId: m.streamId }
    }
    case MSG_DATA_AMF0: return { kind: 'data', at, values: decodeAmf0All(p), csid: m.csid, streamId: m.streamId, timestamp: m.timestamp }
    case MSG_AUDIO:
    case MSG_VIDEO:
      return { kind: 'media', at, typeId: m.typeId, timestamp: m.timestamp, csid: m.csid, streamId: m.streamId, bytes: p.length, head: [p[0] ?? -1, p[1] ?? -1] }
    default: return { kind: 'other', at, typeId: m.typeId }
  }
}

/**
 * The target. Emits 'connection' (TargetConnection), 'event' (TargetConnection, TargetEvent)
 * and 'close' (TargetConnection).
 */
export class PushTarget extends EventEmitter {
  readonly connections: TargetConnection[] = []
  private server: Server | null = null
  private readonly timers = new Set<NodeJS.Timeout>()

  private constructor(readonly port: number, public answer: PushTargetAnswer) {
    super()
  }

  /** A target listening on a free port of 127.0.0.1. */
  static async start(answer: PushTargetAnswer = { kind: 'start' }): Promise<PushTarget> {
    const target = await PushTarget.reserve(answer)
    await target.open()
    return target
  }

  /** A target on a port picked free now but not listened on (connections are refused) until open(). */
  static async reserve(answer: PushTargetAnswer = { kind: 'start' }): Promise<PushTarget> {
    return new PushTarget(await freePort(), answer)
  }

  get listening(): boolean {
    return this.server !== null
  }

  /** Start listening on the target's port. */
  async open(): Promise<void> {
    if (this.server !== null) return
    const server = createServer((socket) => this.accept(socket))
    server.listen(this.port, '127.0.0.1')
    await once(server, 'listening')
    this.server = server
  }

  /** Stop listening and close every open connection (the target goes away). */
  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
    for (const c of this.connections) {
      if (c.closedAt === null) {
        c.closedByUs = true
        c.socket.destroy()
      }
    }
    const server = this.server
    if (server === null) return
    this.server = null
    server.close()
    await once(server, 'close')
  }

  private accept(socket: Socket): void {
    const conn: TargetConnection = { socket, openedAt: wallMs(), closedAt: null, closedByUs: false, publishStartAt: null, events: [] }
    this.connections.push(conn)
    socket.on('error', () => {})
    socket.once('close', () => {
      conn.closedAt = wallMs()
      this.emit('close', conn)
    })
    this.emit('connection', conn)
    const answer = this.answer
    if (answer.kind === 'reset') {
      conn.closedByUs = true
      socket.resetAndDestroy()
      return
    }
    if (answer.kind === 'mute') {
      // read (and drop) what arrives, so that the edge's FIN is seen and the close recorded
      socket.resume()
      return
    }
    const write = (b: Buffer): void => { if (!socket.destroyed) socket.write(b) }
    const hs = new ServerHandshake()
    const reader = new ChunkReader({
      maxMessageBytes: 16 << 20, maxStreams: 1024, extendedOnType3: true,
      onMessage: (m) => {
        const event = eventOf(m, wallMs())
        conn.events.push(event)
        this.emit('event', conn, event)
        if (event.kind === 'command') this.onCommand(conn, answer, event, write)
      },
    })
    let handshaking = true
    socket.on('data', (d: Buffer) => {
      try {
        if (!handshaking) {
          reader.push(d)
          return
        }
        hs.push(d)
        for (const out of hs.takeOutput()) write(out)
        if (hs.state !== ServerHandshakeState.DONE) return
        handshaking = false
        const rest = hs.leftover()
        if (rest.length > 0) reader.push(rest)
      } catch (err) {
        // a framing error is edge's bug: the test sees the connection end and the events so far
        conn.events.push({ kind: 'other', at: wallMs(), typeId: -1 })
        socket.destroy(err as Error)
      }
    })
  }

  private onCommand(conn: TargetConnection, answer: PushTargetAnswer, cmd: Extract<TargetEvent, { kind: 'command' }>, write: (b: Buffer) => void): void {
    if (cmd.name === 'connect') {
      write(setChunkSizeMessage(TARGET_CHUNK_BYTES))
      write(connectResultMessage(TARGET_CHUNK_BYTES, cmd.transactionId, 0))
    } else if (cmd.name === 'createStream') {
      write(resultMessage(TARGET_CHUNK_BYTES, cmd.transactionId, null, 1))
    } else if (cmd.name === 'publish') {
      if (answer.kind === 'status') {
        write(statusMessage(TARGET_CHUNK_BYTES, answer.level, answer.code, answer.description))
      } else if (answer.kind === 'error') {
        write(commandMessage(TARGET_CHUNK_BYTES, 5, 1, '_error', 0, null, { level: 'error', code: answer.code, description: answer.description }))
      } else if (answer.kind === 'start' || answer.kind === 'start-then-close') {
        // what nginx-rtmp answers a publish with: StreamBegin(1), then onStatus
        write(userControlMessage(UC_STREAM_BEGIN, 1, TARGET_CHUNK_BYTES))
        write(statusMessage(TARGET_CHUNK_BYTES, 'status', 'NetStream.Publish.Start', `${String(cmd.args[0])} is now published.`))
        conn.publishStartAt = wallMs()
        if (answer.kind === 'start-then-close') {
          const timer = setTimeout(() => {
            this.timers.delete(timer)
            conn.closedByUs = true
            conn.socket.destroy()
          }, answer.afterMs)
          this.timers.add(timer)
        }
      }
    }
  }

  /** Resolves once `cond()` holds, re-checked on every connection, event and close; rejects after `timeoutMs`. */
  async until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (cond()) return
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (!cond()) return
        finish()
        resolve()
      }
      const timer = setTimeout(() => {
        finish()
        reject(new Error(`push target: no ${what} within ${timeoutMs} ms (${this.connections.length} connections: ${this.summary()})`))
      }, timeoutMs)
      const finish = (): void => {
        clearTimeout(timer)
        this.off('connection', check).off('event', check).off('close', check)
      }
      this.on('connection', check).on('event', check).on('close', check)
    })
  }

  /** The n-th connection (0-based), waiting for it. */
  async connection(n: number, timeoutMs: number): Promise<TargetConnection> {
    await this.until(() => this.connections.length > n, timeoutMs, `connection #${n}`)
    return this.connections[n]
  }

  /** Waits until connection `c` has received `count` media messages. */
  async media(c: TargetConnection, count: number, timeoutMs: number): Promise<void> {
    await this.until(() => mediaOf(c).length >= count, timeoutMs, `${count} media messages on connection #${this.connections.indexOf(c)}`)
  }

  /** Waits until `c` is closed; true, or false after `timeoutMs`. */
  async closed(c: TargetConnection, timeoutMs: number): Promise<boolean> {
    return this.until(() => c.closedAt !== null, timeoutMs, 'close').then(() => true, () => false)
  }

  /** One line per connection: open/close times relative to the first, and its commands. */
  summary(): string {
    const t0 = this.connections[0]?.openedAt ?? 0
    return this.connections.map((c) => `+${Math.round(c.openedAt - t0)}` +
      `${c.closedAt === null ? '' : `..${Math.round(c.closedAt - t0)}`} [${commandsOf(c).map((e) => e.name).join(',')}]`).join('; ')
  }

  /** close(); called from t.teardown. */
  async stop(): Promise<void> {
    await this.close()
  }
}

/** A PushTarget stopped in t's teardown. */
export async function pushTarget(t: { teardown(fn: () => unknown): void }, answer: PushTargetAnswer = { kind: 'start' }, opts: { closed?: boolean } = {}): Promise<PushTarget> {
  const target = opts.closed === true ? await PushTarget.reserve(answer) : await PushTarget.start(answer)
  t.teardown(() => target.stop())
  return target
}
