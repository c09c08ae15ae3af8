// HTTP/1.1 over a plain TCP socket, for tests that must send exactly the bytes they name
// (traversal paths, oversized heads, keep-alive) and see exactly what edge answers: Node's
// http client would normalise or refuse most of those requests.
import { once } from 'node:events'
import { connect as tcpConnect, type Socket } from 'node:net'

/** bound on every wait of this client unless the caller names one */
export const RAW_HTTP_WAIT_MS = 5000

export interface RawResponse {
  /** e.g. "HTTP/1.1 404 Not Found" */
  readonly statusLine: string
  readonly status: number
  /** header names lower-cased, in order of arrival (repeats kept) */
  readonly headers: readonly (readonly [string, string])[]
  readonly body: Buffer
}

export function header(res: RawResponse, name: string): string | undefined {
  return res.headers.find(([k]) => k === name.toLowerCase())?.[1]
}

export class RawHttpConnection {
  private chunks: Buffer[] = []
  private buffered = 0
  /** every byte received, counted even after it was consumed */
  bytesReceived = 0
  closed = false
  private waiters: (() => void)[] = []

  private constructor(readonly socket: Socket, private readonly keepBytes: boolean) {
    this.localPort = socket.localPort ?? 0
    socket.on('data', (d: Buffer) => {
      this.bytesReceived += d.length
      if (this.keepBytes) {
        this.chunks.push(d)
        this.buffered += d.length
      }
      this.wake()
    })
    socket.on('close', () => { this.closed = true; this.wake() })
    socket.on('error', () => {})
  }

  /**
   * TCP connect to 127.0.0.1:`port`. With `keepBytes` false the bytes are only counted (a
   * long-running media reader that must not hold a stream's worth of memory).
   */
  static async open(port: number, opts: { keepBytes?: boolean } = {}): Promise<RawHttpConnection> {
    const socket = tcpConnect(port, '127.0.0.1')
    await once(socket, 'connect', { signal: AbortSignal.timeout(RAW_HTTP_WAIT_MS) })
    return new RawHttpConnection(socket, opts.keepBytes ?? true)
  }

  /** the local port: how edge's log names this client (`client: 127.0.0.1:<port>`); kept after close */
  readonly localPort: number

  send(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data)
  }

  private wake(): void {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }

  /** Wait until `cond()` holds, re-checked on every input and on close; rejects after `timeoutMs`. */
  async until(cond: () => boolean, timeoutMs = RAW_HTTP_WAIT_MS, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!cond()) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.waiters.push(() => { clearTimeout(t); resolve() })
      })
    }
  }

  /** Resolves when the server has closed the connection; rejects after `timeoutMs`. */
  waitClosed(timeoutMs = RAW_HTTP_WAIT_MS): Promise<void> {
    return this.until(() => this.closed, timeoutMs, 'the server to close the connection')
  }

  private pending(): Buffer {
    // copy: a response usually spans several reads; joined once per parse attempt
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.buffered)]
    return this.chunks[0] ?? Buffer.alloc(0)
  }

  /**
   * The next response on the connection. The body is Content-Length bytes, none for a HEAD
   * request (`head`), or everything up to the close when there is no Content-Length.
   */
  async response(opts: { head?: boolean, timeoutMs?: number } = {}): Promise<RawResponse> {
    const found: { parsed: { res: RawResponse, used: number } | null } = { parsed: null }
    await this.until(() => (found.parsed = this.tryParse(opts.head === true)) !== null || this.closed,
      opts.timeoutMs ?? RAW_HTTP_WAIT_MS, 'a response')
    const parsed = found.parsed ?? this.tryParse(opts.head === true, true)
    if (parsed === null) throw new Error(`connection closed before a complete response; got ${JSON.stringify(this.pending().toString('latin1'))}`)
    const { res, used } = parsed
    const rest = this.pending().subarray(used)
    this.chunks = rest.length > 0 ? [rest] : []
    this.buffered = rest.length
    return res
  }

  private tryParse(head: boolean, atClose = false): { res: RawResponse, used: number } | null {
    const buf = this.pending()
    const end = buf.indexOf('\r\n\r\n')
    if (end === -1) return null
    const lines = buf.toString('latin1', 0, end).split('\r\n')
    const statusLine = lines[0]
    const headers = lines.slice(1).map((l) => {
      const colon = l.indexOf(':')
      return [l.slice(0, colon).trim().toLowerCase(), l.slice(colon + 1).trim()] as const
    })
    const start = end + 4
    const length = headers.find(([k]) => k === 'content-length')?.[1]
    let bodyBytes: number
    if (head) bodyBytes = 0
    else if (length !== undefined) bodyBytes = Number(length)
    else if (atClose) bodyBytes = buf.length - start
    else return null
    if (buf.length - start < bodyBytes) return null
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? NaN)
    return { res: { statusLine, status, headers, body: buf.subarray(start, start + bodyBytes) }, used: start + bodyBytes }
  }

  /** Bytes received and not yet consumed by response(). */
  unread(): Buffer {
    return this.pending()
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.socket.destroy()
      await this.waitClosed(2000)
    }
  }
}
