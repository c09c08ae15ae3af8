// The notify HTTP client (PingOS ngx_netcall + http client, §4.2): one GET with exactly
// PingOS's request head; only the status line and the Location/Domain headers are read; the
// body is never read. One client per node serves every notification and on_pull; it owns
// every callout's socket, so the node can end them all. Each callout opens its own TCP
// connection, as a real PingOS build does (pingos-observed.md §12: no connection was ever
// reused). Every outcome is a result: -1 stands for "no answer" (connect failure, DNS failure,
// timeout before the response head, a malformed head, connection closed early, the caller
// went away). Never throws.
import { connect, type Socket } from 'node:net'
import { resolveFailure, resolveTimedOut, syscallFailure } from '../core/errno.js'
import { EdgeError } from '../core/errors.js'
import { headerValue, ResponseHeadReader } from '../core/http-head.js'
import type { HostResolver } from '../core/resolve.js'

/** The User-Agent PingOS's notify requests carry (operators' servers may check it). */
export const NOTIFY_USER_AGENT = 'nginx/1.17.5'

export interface NotifyRequest {
  readonly host: string
  readonly port: number
  /** path and query as they go on the request line */
  readonly target: string
  /** the Host header: the URL host without port */
  readonly hostHeader: string
  /** timeout= : bounds the whole callout, connect and the wait for the response head */
  readonly timeoutMs: number
}

export interface NotifyResponse {
  /** HTTP status, or -1 for no answer */
  readonly status: number
  readonly location: string | null
  readonly domain: string | null
  /** why there was no answer */
  readonly reason: string
}

function noAnswer(reason: string): NotifyResponse {
  return { status: -1, location: null, domain: null, reason }
}

/** Bytes that would split the request line or forge a header: never sent. */
const UNSAFE_REQUEST_BYTES = /[\r\n\0]/

/**
 * A request edge will not send: answered as the server would answer a broken request line
 * (400), so it refuses whatever `ignore_invalid_notify` says (a CR in a stream name must not
 * turn into "no answer, allowed"; docs/compat.md).
 */
const UNSENDABLE: NotifyResponse = { status: 400, location: null, domain: null, reason: 'CR, LF or NUL in the request: not sent' }

export class NotifyClient {
  private readonly sockets = new Set<Socket>()
  private closed = false

  /** `resolver` may be replaced on reload; a callout uses the one current at its start. */
  constructor(public resolver: HostResolver) {}

  /** callouts in flight */
  get pending(): number {
    return this.sockets.size
  }

  /** One GET; `signal` (the caller went away) ends it at once as no answer. */
  async get(req: NotifyRequest, signal?: AbortSignal): Promise<NotifyResponse> {
    if (this.closed) return noAnswer('stopping')
    if (UNSAFE_REQUEST_BYTES.test(req.target) || UNSAFE_REQUEST_BYTES.test(req.hostHeader)) return UNSENDABLE
    const deadline = Date.now() + req.timeoutMs
    const address = await this.resolve(req.host, req.timeoutMs, signal)
    if (typeof address !== 'string') return address
    if (signal?.aborted === true) return noAnswer('the client went away')
    if (this.closed) return noAnswer('stopping')
    return new Promise((resolve) => {
      const socket = connect(req.port, address)
      this.sockets.add(socket)
      const head = new ResponseHeadReader()
      let settled = false
      const finish = (r: NotifyResponse): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        this.sockets.delete(socket)
        socket.destroy()
        resolve(r)
      }
      const onAbort = (): void => finish(noAnswer('the client went away'))
      signal?.addEventListener('abort', onAbort)
      const timer = setTimeout(() => finish(noAnswer('timed out')), Math.max(0, deadline - Date.now()))
      socket.on('connect', () => {
        // UTF-8: RTMP names and args are Unicode strings (AMF0 strings are UTF-8 on the wire)
        socket.write(`GET ${req.target} HTTP/1.1\r\nHost: ${req.hostHeader}\r\nUser-Agent: ${NOTIFY_USER_AGENT}\r\n` +
          `Accept: */*\r\nDate: ${new Date().toUTCString()}\r\n\r\n`, 'utf8')
      })
      socket.on('data', (d: Buffer) => {
        try {
          const res = head.push(d)
          if (res !== null) finish({ status: res.status, location: headerValue(res, 'location'), domain: headerValue(res, 'domain'), reason: '' })
        } catch (err) {
          finish(noAnswer(err instanceof EdgeError ? err.message : String(err)))
        }
      })
      socket.on('error', (err) => finish(noAnswer(syscallFailure(err))))
      socket.on('close', () => finish(noAnswer('connection closed before the response head')))
    })
  }

  /** The address of `host`, within `timeoutMs` (timeout= bounds the lookup too) and until `signal`. */
  private resolve(host: string, timeoutMs: number, signal?: AbortSignal): Promise<string | NotifyResponse> {
    return new Promise((resolve) => {
      let settled = false
      const finish = (r: string | NotifyResponse): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        resolve(r)
      }
      const onAbort = (): void => finish(noAnswer('the client went away'))
      if (signal?.aborted === true) {
        resolve(noAnswer('the client went away'))
        return
      }
      signal?.addEventListener('abort', onAbort)
      const timer = setTimeout(() => finish(noAnswer(resolveTimedOut(host))), timeoutMs)
      this.resolver.resolve(host).then(finish, (err: unknown) => finish(noAnswer(resolveFailure(host, err))))
    })
  }

  /** End every callout in flight (node stop); later ones get no answer. */
  close(): void {
    this.closed = true
    for (const s of this.sockets) s.destroy()
  }
}
