// HTTP/1.1 over a plain TCP socket, for tests that must send exactly the bytes they name
// (traversal paths, oversized heads, keep-alive) and see exactly what edge answers: Node's
// http client would normalise or refuse most of those requests, and hide the status line,
// header order and chunk framing. What arrives is kept once and can be read two ways:
//   - response(): complete responses in order, each framed by its Content-Length (keep-alive,
//     pipelining, HEAD);
//   - the first response as it streams in (statusLine, headers, rawBody, body, tags), for
//     HTTP-FLV, whose body only ends with the connection. Everything after that head is its
//     body: de-chunked when the response says `Transfer-Encoding: chunked`, and a 200
//     video/x-flv body is parsed into FLV tags with edge's own FlvReader (so it proves the
//     bytes, not interop: ffprobe tests do that).
import { once } from 'node:events'
import { connect as tcpConnect, type Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { FlvReader, type FlvTag } from '../../lib/flv/reader.js'

/** bound on every wait of this client unless the caller names one */
export const RAW_HTTP_WAIT_MS = 5000
/** bound on the socket closing once close() has destroyed it */
const CLOSE_WAIT_MS = 2000
/** Upper bound on the streamed response head before calling the response broken. */
const MAX_HEAD_BYTES = 64 * 1024

/** A tag and when it arrived, in ms after the request was written. */
export interface TimedTag extends FlvTag {
  readonly atMs: number
}

export interface RawRequestOptions {
  /** default GET */
  readonly method?: string
  /** default HTTP/1.1 */
  readonly version?: string
  /** extra header lines, without CRLF */
  readonly headers?: readonly string[]
}

/** Header lines in wire order as [name, value]: names exactly as sent, values trimmed. */
type RawHeaders = readonly (readonly [string, string])[]

export interface RawResponse {
  /** e.g. "HTTP/1.1 404 Not Found" */
  readonly statusLine: string
  /** NaN when the status line is not HTTP/1.x */
  readonly status: number
  readonly headers: RawHeaders
  readonly body: Buffer
}

/** The value of the first header called `name` (case-insensitive). */
export function header(res: { readonly headers: RawHeaders }, name: string): string | undefined {
  const wanted = name.toLowerCase()
  return res.headers.find(([k]) => k.toLowerCase() === wanted)?.[1]
}

/** A response head without its final CRLF CRLF. */
function parseHead(text: string): { statusLine: string, status: number, headers: [string, string][] } {
  const [statusLine, ...lines] = text.split('\r\n')
  const headers = lines.map((l): [string, string] => {
    const colon = l.indexOf(':')
    return [l.slice(0, colon), l.slice(colon + 1).trim()]
  })
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? NaN)
  return { statusLine, status, headers }
}

/** Buffers in arrival order, joined only when looked at. */
class BufferList {
  private parts: Buffer[] = []
  length = 0

  push(b: Buffer): void {
    this.parts.push(b)
    this.length += b.length
  }

  joined(): Buffer {
    // copy: a response spans several reads; joined once per look, not once per read
    if (this.parts.length > 1) this.parts = [Buffer.concat(this.parts, this.length)]
    return this.parts[0] ?? Buffer.alloc(0)
  }
}

/** HTTP/1.1 §7.1 chunked coding: size line, data, CRLF; a 0 size line ends it. */
const enum ChunkState {
  SizeLine,
  Data,
  DataEnd,
  Done,
}

export class RawHttpClient {
  /** every byte received, counted even when it is not kept */
  bytesReceived = 0
  closed = false
  /** ms after the request was written when the first byte arrived */
  firstByteMs: number | null = null
  /** the local port: how edge's log names this client (`client: 127.0.0.1:<port>`); kept after close */
  readonly localPort: number

  /** the first response's status line, without CRLF, once its head is complete */
  statusLine: string | null = null
  /** the first response's status code (NaN when the status line is not HTTP/1.x), once its head is complete */
  status: number | null = null
  /** the first response's header lines in wire order as [name, value] */
  headers: [string, string][] = []
  /** FLV tags parsed from the first response's body when it is 200 video/x-flv */
  readonly tags: TimedTag[] = []
  /** a head too long, or a chunk-framing or FLV format error, seen in the first response */
  bodyError: Error | null = null

  /** every byte received when bytes are kept */
  private readonly received = new BufferList()
  /** how many bytes of `received` response() has handed out */
  private consumed = 0
  private readonly rawBodyBytes = new BufferList()
  private readonly bodyBytes = new BufferList()
  /** performance.now() when the first bytes were written (the connect until then) */
  private sentAt = performance.now()
  private written = false
  private chunked = false
  private chunkState = ChunkState.SizeLine
  private chunkLeft = 0
  /** chunked bytes not yet de-framed (a size line split across reads) */
  private chunkPending: Buffer = Buffer.alloc(0)
  private flv: FlvReader | null = null
  private waiters: (() => void)[] = []

  private constructor(readonly socket: Socket, private readonly keepBytes: boolean) {
    this.localPort = socket.localPort ?? 0
    socket.on('data', (d: Buffer) => this.onData(d))
    socket.on('close', () => { this.closed = true; this.wake() })
    // a reset shows as `closed`, which is what the tests assert on
    socket.on('error', () => {})
  }

  /**
   * TCP connect to 127.0.0.1:`port`. With `keepBytes` false the bytes are only counted (a
   * long-running media reader that must not hold a stream's worth of memory): response() and
   * the streamed first response then see nothing.
   */
  static async open(port: number, opts: { keepBytes?: boolean } = {}): Promise<RawHttpClient> {
    const socket = tcpConnect(port, '127.0.0.1')
    await once(socket, 'connect', { signal: AbortSignal.timeout(RAW_HTTP_WAIT_MS) })
    return new RawHttpClient(socket, opts.keepBytes ?? true)
  }

  /** Connect to 127.0.0.1:`port` and write `METHOD target VERSION` with a Host header. */
  static async request(port: number, target: string, opts: RawRequestOptions = {}): Promise<RawHttpClient> {
    const c = await RawHttpClient.open(port)
    const lines = [`${opts.method ?? 'GET'} ${target} ${opts.version ?? 'HTTP/1.1'}`, `Host: 127.0.0.1:${port}`, ...(opts.headers ?? [])]
    c.send(`${lines.join('\r\n')}\r\n\r\n`)
    return c
  }

  /** Write `data` as is (a string as latin1); the first write starts the clock of firstByteMs and tags. */
  send(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data)
    if (!this.written) {
      this.written = true
      this.sentAt = performance.now()
    }
  }

  /** The body bytes of the first response exactly as sent (chunk framing included). */
  get rawBody(): Buffer {
    return this.rawBodyBytes.joined()
  }

  /** The body of the first response with any chunk framing removed. */
  get body(): Buffer {
    return this.bodyBytes.joined()
  }

  /** The value of the first response's first header called `name` (case-insensitive). */
  header(name: string): string | undefined {
    return header(this, name)
  }

  private elapsedMs(): number {
    return performance.now() - this.sentAt
  }

  private onData(d: Buffer): void {
    this.bytesReceived += d.length
    if (this.firstByteMs === null) this.firstByteMs = this.elapsedMs()
    if (this.keepBytes) {
      this.received.push(d)
      this.followFirstResponse(d)
    }
    this.wake()
  }

  private followFirstResponse(d: Buffer): void {
    if (this.statusLine !== null) {
      this.onBody(d)
      return
    }
    const buf = this.received.joined()
    const end = buf.indexOf('\r\n\r\n')
    if (end < 0) {
      if (buf.length > MAX_HEAD_BYTES) this.bodyError = new Error('response head too long')
      return
    }
    const head = parseHead(buf.toString('latin1', 0, end))
    this.statusLine = head.statusLine
    this.status = head.status
    this.headers = head.headers
    this.chunked = this.header('Transfer-Encoding')?.toLowerCase() === 'chunked'
    if (this.status === 200 && this.header('Content-Type') === 'video/x-flv') this.flv = new FlvReader()
    this.onBody(buf.subarray(end + 4))
  }

  private onBody(bytes: Buffer): void {
    if (bytes.length === 0) return
    this.rawBodyBytes.push(bytes)
    if (this.bodyError !== null) return
    try {
      if (this.chunked) this.dechunk(bytes)
      else this.onBodyBytes(bytes)
    } catch (err) {
      this.bodyError = err as Error
    }
  }

  private dechunk(bytes: Buffer): void {
    if (this.chunkState === ChunkState.Done) return
    const buf = this.chunkPending.length > 0 ? Buffer.concat([this.chunkPending, bytes]) : bytes
    let pos = 0
    while (pos < buf.length && this.chunkState !== ChunkState.Done) {
      if (this.chunkState === ChunkState.SizeLine) {
        const eol = buf.indexOf('\r\n', pos)
        if (eol < 0) break
        const line = buf.subarray(pos, eol).toString('latin1').split(';')[0].trim()
        if (!/^[0-9a-fA-F]+$/.test(line)) throw new Error(`bad chunk size line ${JSON.stringify(line)}`)
        this.chunkLeft = parseInt(line, 16)
        pos = eol + 2
        this.chunkState = this.chunkLeft === 0 ? ChunkState.Done : ChunkState.Data
      } else if (this.chunkState === ChunkState.Data) {
        const n = Math.min(this.chunkLeft, buf.length - pos)
        this.onBodyBytes(buf.subarray(pos, pos + n))
        pos += n
        this.chunkLeft -= n
        if (this.chunkLeft === 0) this.chunkState = ChunkState.DataEnd
      } else {
        if (buf.length - pos < 2) break
        if (buf[pos] !== 0x0d || buf[pos + 1] !== 0x0a) throw new Error('chunk data not followed by CRLF')
        pos += 2
        this.chunkState = ChunkState.SizeLine
      }
    }
    // copy: a size line or CRLF split across reads waits for the next read
    this.chunkPending = Buffer.from(buf.subarray(pos))
  }

  /** De-framed body bytes. */
  private onBodyBytes(bytes: Buffer): void {
    if (bytes.length === 0) return
    this.bodyBytes.push(bytes)
    if (this.flv === null) return
    this.flv.push(bytes)
    const atMs = this.elapsedMs()
    for (const tag of this.flv.drain()) this.tags.push({ ...tag, atMs })
  }

  private wake(): void {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }

  /** Wait until `cond()` holds, re-checked on every read and on close; rejects after `timeoutMs`. */
  async until(cond: () => boolean, timeoutMs = RAW_HTTP_WAIT_MS, what = 'condition'): Promise<void> {
    const deadline = performance.now() + timeoutMs
    while (!cond()) {
      const left = deadline - performance.now()
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
  }

  /** Wait for the first response's complete head. */
  async waitHead(timeoutMs = RAW_HTTP_WAIT_MS): Promise<void> {
    await this.until(() => this.statusLine !== null || this.closed, timeoutMs, 'the response head')
    if (this.statusLine === null) {
      throw new Error(`connection closed before a complete head; got ${JSON.stringify(this.received.joined().toString('latin1'))}`)
    }
  }

  /** Resolves when the server has closed the connection; rejects after `timeoutMs`. */
  waitClosed(timeoutMs = RAW_HTTP_WAIT_MS): Promise<void> {
    return this.until(() => this.closed, timeoutMs, 'the server to close the connection')
  }

  /**
   * The next response on the connection. The body is Content-Length bytes, none for a HEAD
   * request (`head`), or everything up to the close when there is no Content-Length.
   */
  async response(opts: { head?: boolean, timeoutMs?: number } = {}): Promise<RawResponse> {
    const head = opts.head === true
    const found: { parsed: { res: RawResponse, used: number } | null } = { parsed: null }
    await this.until(() => (found.parsed = this.parseResponse(head)) !== null || this.closed,
      opts.timeoutMs ?? RAW_HTTP_WAIT_MS, 'a response')
    const parsed = found.parsed ?? this.parseResponse(head, true)
    if (parsed === null) throw new Error(`connection closed before a complete response; got ${JSON.stringify(this.unread().toString('latin1'))}`)
    this.consumed += parsed.used
    return parsed.res
  }

  private parseResponse(head: boolean, atClose = false): { res: RawResponse, used: number } | null {
    const buf = this.unread()
    const end = buf.indexOf('\r\n\r\n')
    if (end === -1) return null
    const parsed = parseHead(buf.toString('latin1', 0, end))
    const start = end + 4
    const length = header(parsed, 'Content-Length')
    let bodyBytes: number
    if (head) bodyBytes = 0
    else if (length !== undefined) bodyBytes = Number(length)
    else if (atClose) bodyBytes = buf.length - start
    else return null
    if (buf.length - start < bodyBytes) return null
    return { res: { ...parsed, body: buf.subarray(start, start + bodyBytes) }, used: start + bodyBytes }
  }

  /** Bytes received and not yet consumed by response(). */
  unread(): Buffer {
    return this.received.joined().subarray(this.consumed)
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.socket.destroy()
      await this.until(() => this.closed, CLOSE_WAIT_MS, 'the socket to close')
    }
  }
}
