// Instrumented origins and a notify server for the pull scenarios (pingos-behaviour.md §13):
// they record exactly what edge sends them and answer as each test scripts. They are test
// fixtures built on edge's codecs; interop with real origins (nginx-rtmp, another edge) is
// tested separately.
import { EventEmitter, once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import type { AmfValue } from '../../lib/amf/amf0.js'
import { FlvReader, type FlvTag } from '../../lib/flv/reader.js'
import { ChunkReader } from '../../lib/rtmp/chunk-reader.js'
import { encodeChunks } from '../../lib/rtmp/chunk-writer.js'
import {
  commandMessage, connectResultMessage, decodeCommand, resultMessage, setChunkSizeMessage, statusMessage,
  type Command, type StatusLevel,
} from '../../lib/rtmp/commands.js'
import { MSG_COMMAND_AMF0, MSG_COMMAND_AMF3, MSG_USER_CONTROL } from '../../lib/rtmp/constants.js'
import { ServerHandshake, ServerHandshakeState } from '../../lib/rtmp/handshake.js'
import { TEST_MEDIA } from './node.js'

let mediaTags: FlvTag[] | null = null

/** The tags of the test media file, parsed once. */
export function testMediaTags(): FlvTag[] {
  if (mediaTags === null) {
    const r = new FlvReader()
    r.push(readFileSync(TEST_MEDIA))
    mediaTags = r.drain()
  }
  return mediaTags
}

/** One FLV tag as an origin writes it (written out here, independent of lib/flv/tag.ts). */
export function flvTagBytes(tag: FlvTag, ts: number): Buffer {
  const h = Buffer.alloc(11)
  h[0] = tag.typeId
  h.writeUIntBE(tag.payload.length, 1, 3)
  h.writeUIntBE(ts & 0xffffff, 4, 3)
  h[7] = (ts >>> 24) & 0xff
  const tail = Buffer.alloc(4)
  tail.writeUInt32BE(tag.payload.length + 11, 0)
  return Buffer.concat([h, tag.payload, tail])
}

/** Pace the test media's tags in real time (after a burst of `burstMs`), looping; returns a stop function. */
export function paceMedia(send: (tag: FlvTag, timestamp: number) => void, burstMs = 1000): () => void {
  const tags = testMediaTags()
  const duration = tags[tags.length - 1].timestamp + 40
  const t0 = Date.now() - burstMs
  let i = 0
  let loop = 0
  let timer: NodeJS.Timeout | null = null
  const tick = (): void => {
    const now = Date.now() - t0
    while (loop * duration + tags[i].timestamp <= now) {
      send(tags[i], loop * duration + tags[i].timestamp)
      if (++i === tags.length) { i = 0; loop++ }
    }
    timer = setTimeout(tick, 10)
  }
  tick()
  return () => { if (timer !== null) clearTimeout(timer) }
}

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return (server.address() as { port: number }).port
}

/** What the RTMP origin does with a connection. */
export type RtmpOriginMode =
  | { readonly kind: 'serve' }                               // Play.Start, then the test media in real time
  | { readonly kind: 'status', readonly level: StatusLevel, readonly code: string, readonly description: string }
  | { readonly kind: 'error', readonly code: string, readonly description: string } // _error for play
  | { readonly kind: 'close-on-accept' }                     // close the TCP connection at once
  | { readonly kind: 'silent-after-handshake' }              // handshake, then never answer connect
  | { readonly kind: 'serve-then-close', readonly afterMs: number }
  | { readonly kind: 'serve-then-silent', readonly afterMs: number } // media for afterMs, then nothing; the connection stays open
  | { readonly kind: 'start-then-silent' }                   // Play.Start, then nothing; the connection stays open

export interface OriginConnection {
  readonly at: number
  readonly commands: Command[]
  closedAt: number | null
  /** when the origin wrote its last byte on purpose (the silent modes), else null */
  silentAt: number | null
  socket: Socket
}

/** An RTMP origin that records connect/createStream/play and answers per `mode`. */
export class FakeRtmpOrigin extends EventEmitter {
  readonly connections: OriginConnection[] = []
  private readonly sockets = new Set<Socket>()

  private constructor(private readonly server: Server, readonly port: number, public mode: RtmpOriginMode) {
    super()
  }

  static async start(mode: RtmpOriginMode = { kind: 'serve' }): Promise<FakeRtmpOrigin> {
    let origin: FakeRtmpOrigin | null = null
    const server = createServer((socket) => (origin as FakeRtmpOrigin).accept(socket))
    const port = await listen(server)
    origin = new FakeRtmpOrigin(server, port, mode)
    return origin
  }

  private accept(socket: Socket): void {
    const conn: OriginConnection = { at: Date.now(), commands: [], closedAt: null, silentAt: null, socket }
    this.connections.push(conn)
    this.sockets.add(socket)
    let stopMedia: (() => void) | null = null
    socket.on('error', () => {})
    socket.on('close', () => {
      conn.closedAt = Date.now()
      stopMedia?.()
      this.sockets.delete(socket)
      this.emit('close', conn)
    })
    this.emit('connection', conn)
    const mode = this.mode
    if (mode.kind === 'close-on-accept') {
      socket.destroy()
      return
    }
    const hs = new ServerHandshake()
    const reader = new ChunkReader({
      maxMessageBytes: 16 << 20, maxStreams: 1024, extendedOnType3: true,
      onMessage: (m) => {
        if (m.typeId === MSG_USER_CONTROL) {
          this.emit('user-control', conn, m.payload)
          return
        }
        if (m.typeId !== MSG_COMMAND_AMF0 && m.typeId !== MSG_COMMAND_AMF3) return
        const cmd = decodeCommand(m.payload, m.typeId === MSG_COMMAND_AMF3)
        conn.commands.push(cmd)
        this.emit('command', conn, cmd)
        if (mode.kind === 'silent-after-handshake') return
        if (cmd.name === 'connect') {
          socket.write(setChunkSizeMessage(4096))
          socket.write(connectResultMessage(4096, cmd.transactionId, 0))
        } else if (cmd.name === 'createStream') {
          socket.write(resultMessage(4096, cmd.transactionId, null, 1))
        } else if (cmd.name === 'play') {
          if (mode.kind === 'status') {
            socket.write(statusMessage(4096, mode.level, mode.code, mode.description))
          } else if (mode.kind === 'error') {
            socket.write(commandMessage(4096, 5, 1, '_error', 0, null, { level: 'error', code: mode.code, description: mode.description }))
          } else if (mode.kind === 'start-then-silent') {
            socket.write(statusMessage(4096, 'status', 'NetStream.Play.Start', 'Start live'))
            conn.silentAt = Date.now()
          } else {
            socket.write(statusMessage(4096, 'status', 'NetStream.Play.Start', 'Start live'))
            stopMedia = paceMedia((tag, ts) => {
              const csid = tag.typeId === 8 ? 6 : tag.typeId === 9 ? 7 : 5
              socket.write(encodeChunks(csid, tag.typeId, 1, ts, tag.payload, 4096))
            })
            if (mode.kind === 'serve-then-close') setTimeout(() => socket.destroy(), mode.afterMs)
            if (mode.kind === 'serve-then-silent') {
              setTimeout(() => {
                if (socket.destroyed) return
                stopMedia?.()
                conn.silentAt = Date.now()
              }, mode.afterMs)
            }
          }
        }
      },
    })
    let handshaking = true
    socket.on('data', (d: Buffer) => {
      try {
        if (handshaking) {
          hs.push(d)
          for (const out of hs.takeOutput()) socket.write(out)
          if (hs.state !== ServerHandshakeState.DONE) return
          handshaking = false
          if (mode.kind === 'silent-after-handshake') conn.silentAt = Date.now()
          const rest = hs.leftover()
          if (rest.length > 0) reader.push(rest)
        } else {
          reader.push(d)
        }
      } catch (err) {
        socket.destroy(err as Error)
      }
    })
  }

  /** The n-th connection, waiting (bounded) for it to arrive. */
  async connection(n: number, timeoutMs = 5000): Promise<OriginConnection> {
    const signal = AbortSignal.timeout(timeoutMs)
    while (this.connections.length <= n) await once(this, 'connection', { signal })
    return this.connections[n]
  }

  /** The first command named `name` on a connection, waiting (bounded) for it. */
  async command(conn: OriginConnection, name: string, timeoutMs = 5000): Promise<Command> {
    const signal = AbortSignal.timeout(timeoutMs)
    for (;;) {
      const found = conn.commands.find((c) => c.name === name)
      if (found !== undefined) return found
      await once(this, 'command', { signal })
    }
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    this.server.close()
    await once(this.server, 'close')
  }
}

/** The connect command object as a record (keys in the order received). */
export function commandObject(cmd: Command): Record<string, AmfValue> {
  return (cmd.object ?? {}) as Record<string, AmfValue>
}

export interface RecordedRequest {
  readonly at: number
  /** the request line, e.g. "GET /n?call=pull... HTTP/1.1" */
  readonly line: string
  /** header lines in order, as sent */
  readonly headers: readonly string[]
  readonly socket: Socket
}

/** Answer to a recorded HTTP request: write a response, stream FLV, or never answer. */
export type HttpAnswer = (req: RecordedRequest) => void

/** An HTTP server (notify server or HTTP-FLV origin) that records raw request heads. */
export class RecordingHttpServer extends EventEmitter {
  readonly requests: RecordedRequest[] = []
  private readonly sockets = new Set<Socket>()

  private constructor(private readonly server: Server, readonly port: number, public answer: HttpAnswer) {
    super()
  }

  static async start(answer: HttpAnswer): Promise<RecordingHttpServer> {
    let self: RecordingHttpServer | null = null
    const server = createServer((socket) => (self as RecordingHttpServer).accept(socket))
    const port = await listen(server)
    self = new RecordingHttpServer(server, port, answer)
    return self
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => this.sockets.delete(socket))
    let buf = ''
    socket.setEncoding('latin1')
    socket.on('data', (d: string) => {
      buf += d
      for (let end = buf.indexOf('\r\n\r\n'); end !== -1; end = buf.indexOf('\r\n\r\n')) {
        const lines = buf.slice(0, end).split('\r\n')
        buf = buf.slice(end + 4)
        const req: RecordedRequest = { at: Date.now(), line: lines[0], headers: lines.slice(1), socket }
        this.requests.push(req)
        this.emit('request', req)
        this.answer(req)
      }
    })
  }

  /** The n-th request, waiting (bounded) for it. */
  async request(n: number, timeoutMs = 5000): Promise<RecordedRequest> {
    const signal = AbortSignal.timeout(timeoutMs)
    while (this.requests.length <= n) await once(this, 'request', { signal })
    return this.requests[n]
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    this.server.close()
    await once(this.server, 'close')
  }
}

/** A plain answer: status, extra headers, empty body, connection kept. */
export function reply(status: number, headers: Record<string, string> = {}): HttpAnswer {
  return (req) => {
    let head = `HTTP/1.1 ${status} X\r\nContent-Length: 0\r\n`
    for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`
    req.socket.write(head + '\r\n')
  }
}

/** An HTTP-FLV origin answer: 200 and the test media as a chunked FLV body in real time. */
export const serveFlv: HttpAnswer = (req) => {
  req.socket.write('HTTP/1.1 200 OK\r\nContent-Type: video/x-flv\r\nTransfer-Encoding: chunked\r\n\r\n')
  const chunk = (b: Buffer): void => {
    req.socket.write(`${b.length.toString(16)}\r\n`)
    req.socket.write(b)
    req.socket.write('\r\n')
  }
  chunk(Buffer.from('464c5601050000000900000000', 'hex'))
  const stop = paceMedia((tag, ts) => chunk(flvTagBytes(tag, ts)))
  req.socket.on('close', stop)
}

/** Never answer (a hung server). */
export const hang: HttpAnswer = () => {}
