// Outbound HTTP-FLV client for a pull leg: one GET to an origin, the body read as FLV
// (pingos-behaviour.md §2.3, ngx_live_relay_httpflv.c). Codec, socket and one idle timer: no
// retries, no hub; the caller (lib/relay/) arms its own per-attempt deadline and calls close().
//
//   CONNECTING ─► HEAD ─┬─ status 200 ─► BODY ─┬─ chunked:  ChunkedBodyDecoder ─► FlvReader ─► onMedia
//   (TCP)   (request    │                      └─ otherwise: raw until close  ─► FlvReader ─► onMedia
//            written)   └─ other status ─► onResponse(status), close (no body read)
//   anything that ends it ─► CLOSED: socket destroyed, onClose(reason) once
//
// Every wait for the origin is bounded (issue 9): the TCP connect by connectTimeoutMs, then every
// read by readTimeoutMs, in HEAD and BODY alike: an origin that accepts and never answers, or
// sends headers and then nothing, is dropped as one that closes is.
//
// node:net, not node:http: the request bytes must be exactly PingOS's (header set and order,
// no Connection header), and the response is read with our own bounded parsers.
import { connect as tcpConnect, type Socket } from 'node:net'
import { syscallFailure } from '../core/errno.js'
import { EdgeError, ProtocolError } from '../core/errors.js'
import { isChunked, ResponseHeadReader } from '../core/http-head.js'
import { IdleTimer } from '../core/idle-timer.js'
import type { MediaMessage } from '../media/message.js'
import { FlvReader } from './reader.js'

export interface FlvPullOptions {
  readonly host: string
  readonly port: number
  /** request target exactly as sent: "/<app>/<name>[?pargs]" */
  readonly path: string
  /** Host header value; "" sends no Host header at all */
  readonly hostHeader: string
  /** "" sends no User-Agent header */
  readonly userAgent: string
  /** "" sends no Referer header */
  readonly referer: string
  /** largest FLV tag DataSize accepted */
  readonly maxTagBytes: number
  /** connect_timeout: the TCP connect; 0 = unbounded */
  readonly connectTimeoutMs: number
  /** the rtmp server's `timeout`: the longest the origin may send nothing, head or body; 0 = unbounded */
  readonly readTimeoutMs: number
}

export interface FlvPullHandlers {
  /** the connection was opened (the node counts its bytes) */
  onSocket?(socket: Socket): void
  /** the status line was read; 200 means the body follows */
  onResponse(status: number): void
  onMedia(msg: MediaMessage): void
  /** exactly once, whatever ended the client */
  onClose(reason: string): void
}

/** The most a chunk-size line (size, extensions, CRLF) or a trailer line may take. */
export const MAX_CHUNK_LINE_BYTES = 4 * 1024

const LF = 0x0a

/**
 * The request head, byte for byte as ngx_live_relay_httpflv_send_request builds it (§2.3):
 * Host, User-Agent and Referer only when non-empty; Accept and an RFC 1123 Date always; no
 * Connection header.
 */
export function flvRequestHead(opts: Pick<FlvPullOptions, 'path' | 'hostHeader' | 'userAgent' | 'referer'>, now: Date): Buffer {
  let head = `GET ${opts.path} HTTP/1.1\r\n`
  if (opts.hostHeader !== '') head += `Host: ${opts.hostHeader}\r\n`
  if (opts.userAgent !== '') head += `User-Agent: ${opts.userAgent}\r\n`
  head += 'Accept: */*\r\n'
  head += `Date: ${now.toUTCString()}\r\n`
  if (opts.referer !== '') head += `Referer: ${opts.referer}\r\n`
  head += '\r\n'
  // the players' names and queries are text (RTMP names are UTF-8 on the wire)
  return Buffer.from(head, 'utf8')
}

export enum ChunkedState {
  /** reading "<hex size>[;ext]\r\n" */
  SIZE = 'SIZE',
  /** passing chunk data through */
  DATA = 'DATA',
  /** the CRLF after chunk data */
  DATA_END = 'DATA_END',
  /** trailer lines after the last (zero) chunk, up to a blank line */
  TRAILER = 'TRAILER',
  /** the body is complete; later bytes are ignored */
  DONE = 'DONE',
}

/**
 * Resumable decoder of a `Transfer-Encoding: chunked` body (RFC 9112 §7.1). push() returns the
 * chunk data it found, as views of the pushed buffer; nothing is copied. Lines are bounded by
 * MAX_CHUNK_LINE_BYTES; any malformed framing throws ProtocolError.
 */
export class ChunkedBodyDecoder {
  private current = ChunkedState.SIZE
  /** the size or trailer line read so far (short: bounded) */
  private line = ''
  private dataLeft = 0

  get state(): ChunkedState {
    return this.current
  }

  push(buf: Buffer): Buffer[] {
    const out: Buffer[] = []
    let pos = 0
    while (pos < buf.length && this.current !== ChunkedState.DONE) {
      if (this.current === ChunkedState.DATA) {
        const n = Math.min(this.dataLeft, buf.length - pos)
        out.push(buf.subarray(pos, pos + n))
        this.dataLeft -= n
        pos += n
        if (this.dataLeft === 0) this.current = ChunkedState.DATA_END
        continue
      }
      const lf = buf.indexOf(LF, pos)
      const stop = lf === -1 ? buf.length : lf
      if (this.line.length + stop - pos > MAX_CHUNK_LINE_BYTES) this.fail('chunk line too long')
      this.line += buf.toString('latin1', pos, stop)
      pos = stop
      if (lf === -1) continue
      pos++
      const line = this.line.endsWith('\r') ? this.line.slice(0, -1) : this.line
      this.line = ''
      this.endLine(line)
    }
    return out
  }

  private endLine(line: string): void {
    switch (this.current) {
      case ChunkedState.SIZE: {
        // chunk-size [ chunk-ext ]; at most 8 hex digits (4 GiB) keeps the number exact
        const m = /^([0-9A-Fa-f]{1,8})[ \t]*(?:;.*)?$/.exec(line)
        if (m === null) this.fail(`invalid chunk size line "${line.slice(0, 32)}"`)
        this.dataLeft = parseInt(m[1], 16)
        this.current = this.dataLeft === 0 ? ChunkedState.TRAILER : ChunkedState.DATA
        return
      }
      case ChunkedState.DATA_END:
        if (line !== '') this.fail('missing CRLF after chunk data')
        this.current = ChunkedState.SIZE
        return
      default:
        if (line === '') this.current = ChunkedState.DONE
    }
  }

  private fail(message: string): never {
    throw new ProtocolError('ERR_HTTP_REQUEST', `origin chunked body: ${message}`)
  }
}

export enum FlvClientState {
  IDLE = 'idle',
  CONNECTING = 'connecting',
  /** request written; reading the status line and headers */
  HEAD = 'head',
  /** status 200: the body is read as FLV */
  BODY = 'body',
  CLOSED = 'closed',
}

/** Bytes PingOS would never put in a request line or header value; refused, never sent. */
const UNSAFE_REQUEST_BYTES = /[\r\n\0]/

export class FlvClient {
  private current = FlvClientState.IDLE
  private socket: Socket | null = null
  private readonly head = new ResponseHeadReader()
  private chunked: ChunkedBodyDecoder | null = null
  private readonly flv: FlvReader
  /** connectTimeoutMs while CONNECTING, then readTimeoutMs refreshed on every read */
  private readonly idle = new IdleTimer((ms) => this.close(this.current === FlvClientState.CONNECTING
    ? `origin did not accept the connection within ${ms} ms`
    : `origin sent nothing for ${ms} ms in state ${this.current}`))

  constructor(private readonly opts: FlvPullOptions, private readonly handlers: FlvPullHandlers) {
    this.flv = new FlvReader({ maxTagBytes: opts.maxTagBytes })
  }

  get state(): FlvClientState {
    return this.current
  }

  /** Opens the TCP connection; the request is written once it is up. */
  start(): void {
    if (this.current !== FlvClientState.IDLE) throw new Error(`FlvClient.start() in state ${this.current}`)
    this.current = FlvClientState.CONNECTING
    const o = this.opts
    if ([o.path, o.hostHeader, o.userAgent, o.referer].some((v) => UNSAFE_REQUEST_BYTES.test(v))) {
      // a CR or LF from a player's name or domain would inject headers: refuse, asynchronously
      // like every other failure, so onClose never runs inside start()
      const err = new ProtocolError('ERR_HTTP_REQUEST', 'CR, LF or NUL in the origin request')
      process.nextTick(() => this.fail(err))
      return
    }
    const socket = tcpConnect({ host: o.host, port: o.port })
    this.socket = socket
    this.handlers.onSocket?.(socket)
    socket.on('connect', () => this.onConnected())
    socket.on('data', (d: Buffer) => this.onData(d))
    socket.on('error', (err) => this.close(syscallFailure(err)))
    socket.on('close', () => this.close(this.current === FlvClientState.BODY
      ? 'origin closed the connection'
      : `origin closed the connection in state ${this.current}`))
    this.idle.arm(o.connectTimeoutMs)
  }

  /** Ends the client: destroys the socket and calls onClose(reason), both only the first time. */
  close(reason: string): void {
    if (this.current === FlvClientState.CLOSED) return
    this.current = FlvClientState.CLOSED
    this.idle.clear()
    this.socket?.destroy()
    this.handlers.onClose(reason)
  }

  private onConnected(): void {
    if (this.current !== FlvClientState.CONNECTING) return
    this.current = FlvClientState.HEAD
    this.idle.arm(this.opts.readTimeoutMs)
    ;(this.socket as Socket).write(flvRequestHead(this.opts, new Date()))
  }

  private onData(data: Buffer): void {
    if (this.current === FlvClientState.CLOSED) return
    this.idle.refresh()
    try {
      if (this.current === FlvClientState.HEAD) {
        const res = this.head.push(data)
        if (res === null) return
        this.handlers.onResponse(res.status)
        if (this.state === FlvClientState.CLOSED) return
        if (res.status !== 200) {
          // §2.3: only exactly 200 is accepted; no redirect is followed, no body is read
          this.close(`origin answered HTTP ${res.status}`)
          return
        }
        this.current = FlvClientState.BODY
        if (isChunked(res)) this.chunked = new ChunkedBodyDecoder()
        if (res.rest.length > 0) this.onBody(res.rest)
      } else if (this.current === FlvClientState.BODY) {
        this.onBody(data)
      }
    } catch (err) {
      this.fail(err)
    }
  }

  private onBody(data: Buffer): void {
    if (this.chunked === null) {
      this.feed(data)
      return
    }
    for (const part of this.chunked.push(data)) {
      this.feed(part)
      if (this.state !== FlvClientState.BODY) return
    }
    // a live body that ends is a stream that ended at the origin
    if (this.chunked.state === ChunkedState.DONE) this.close('origin ended the chunked body')
  }

  /** FLV bytes to the reader; the tags completed before a format error are still delivered. */
  private feed(bytes: Buffer): void {
    try {
      this.flv.push(bytes)
    } finally {
      for (const tag of this.flv.drain()) {
        if (this.state !== FlvClientState.BODY) break
        this.handlers.onMedia(tag)
      }
    }
  }

  private fail(err: unknown): void {
    if (err instanceof EdgeError) this.close(`${err.message} (${err.code})`)
    else this.close(`internal error: ${(err as Error).stack ?? String(err)}`)
  }
}
