// A raw-socket HTTP client for HTTP-FLV tests: it writes the request bytes itself and keeps
// every byte the server sends, so tests can assert the exact status line, header order and
// chunk framing that http.get would hide. The body is de-chunked when the response says
// `Transfer-Encoding: chunked`, and a 200 video/x-flv body is parsed into FLV tags with edge's
// own FlvReader (so it proves the bytes, not interop: ffprobe tests do that).
import { connect as tcpConnect, type Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { FlvReader, type FlvTag } from '../../lib/flv/reader.js'

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

/** HTTP/1.1 §7.1 chunked coding: size line, data, CRLF; a 0 size line ends it. */
const enum ChunkState {
  SizeLine,
  Data,
  DataEnd,
  Done,
}

/** Upper bound on the response head we accept before calling the response broken. */
const MAX_HEAD_BYTES = 64 * 1024

export class RawHttpClient {
  /** every byte received, in order */
  raw: Buffer = Buffer.alloc(0)
  /** the status line, without CRLF, once the head is complete */
  statusLine: string | null = null
  /** header lines in wire order as [name, value] */
  headers: [string, string][] = []
  /** the bytes after the head exactly as sent (chunk framing included) */
  rawBody: Buffer = Buffer.alloc(0)
  /** the body with any chunk framing removed */
  body: Buffer = Buffer.alloc(0)
  /** FLV tags parsed from a 200 video/x-flv body */
  readonly tags: TimedTag[] = []
  /** a chunk-framing or FLV format error seen in the body */
  bodyError: Error | null = null
  /** ms after the request was written: first byte, end of connection */
  firstByteMs: number | null = null
  closedMs: number | null = null
  closed = false

  private readonly sentAt: number
  private headDone = false
  private chunked = false
  private chunkState = ChunkState.SizeLine
  private chunkLeft = 0
  /** chunked bytes not yet de-framed (a size line split across reads) */
  private pending: Buffer = Buffer.alloc(0)
  private flv: FlvReader | null = null
  private waiters: (() => void)[] = []

  private constructor(readonly socket: Socket, request: string) {
    socket.on('data', (d: Buffer) => this.onData(d))
    socket.on('close', () => {
      this.closed = true
      this.closedMs = this.elapsedMs()
      this.wake()
    })
    socket.on('error', () => {})
    socket.write(request)
    this.sentAt = performance.now()
  }

  /** Connect to 127.0.0.1:`port` and write `METHOD target VERSION` with a Host header. */
  static async request(port: number, target: string, opts: RawRequestOptions = {}): Promise<RawHttpClient> {
    const socket = tcpConnect(port, '127.0.0.1')
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
    const lines = [`${opts.method ?? 'GET'} ${target} ${opts.version ?? 'HTTP/1.1'}`, `Host: 127.0.0.1:${port}`, ...(opts.headers ?? [])]
    return new RawHttpClient(socket, `${lines.join('\r\n')}\r\n\r\n`)
  }

  elapsedMs(): number {
    return performance.now() - this.sentAt
  }

  /** The status code, once the head is in. */
  get status(): number | null {
    return this.statusLine === null ? null : Number(this.statusLine.split(' ')[1])
  }

  /** The value of the first header called `name` (case-insensitive). */
  header(name: string): string | undefined {
    return this.headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1]
  }

  private onData(d: Buffer): void {
    if (this.firstByteMs === null) this.firstByteMs = this.elapsedMs()
    // copy: the test keeps every byte for exact assertions
    this.raw = Buffer.concat([this.raw, d])
    if (!this.headDone) {
      const end = this.raw.indexOf('\r\n\r\n')
      if (end < 0) {
        if (this.raw.length > MAX_HEAD_BYTES) this.bodyError = new Error('response head too long')
        this.wake()
        return
      }
      this.parseHead(this.raw.subarray(0, end).toString('latin1'))
      this.headDone = true
      this.onBody(this.raw.subarray(end + 4))
    } else {
      this.onBody(d)
    }
    this.wake()
  }

  private parseHead(text: string): void {
    const [status, ...lines] = text.split('\r\n')
    this.statusLine = status
    this.headers = lines.map((l) => {
      const i = l.indexOf(':')
      return [l.slice(0, i), l.slice(i + 1).trim()] as [string, string]
    })
    this.chunked = this.header('Transfer-Encoding')?.toLowerCase() === 'chunked'
    if (this.status === 200 && this.header('Content-Type') === 'video/x-flv') this.flv = new FlvReader()
  }

  private onBody(bytes: Buffer): void {
    if (bytes.length === 0) return
    this.rawBody = Buffer.concat([this.rawBody, bytes])
    if (this.bodyError !== null) return
    try {
      if (this.chunked) this.dechunk(bytes)
      else this.onBodyBytes(bytes)
    } catch (err) {
      this.bodyError = err as Error
    }
  }

  private dechunk(bytes: Buffer): void {
    const buf = this.pending.length > 0 ? Buffer.concat([this.pending, bytes]) : bytes
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
    this.pending = Buffer.from(buf.subarray(pos))
  }

  /** De-framed body bytes. */
  private onBodyBytes(bytes: Buffer): void {
    if (bytes.length === 0) return
    this.body = Buffer.concat([this.body, bytes])
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
  async until(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
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

  /** Wait for the complete response head. */
  async waitHead(timeoutMs = 5000): Promise<void> {
    await this.until(() => this.headDone || this.closed, timeoutMs, 'the response head')
    if (!this.headDone) throw new Error(`connection closed before a complete head; got ${JSON.stringify(this.raw.toString('latin1'))}`)
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.socket.destroy()
      await this.until(() => this.closed, 2000, 'close')
    }
  }
}
