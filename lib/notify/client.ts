// The notify HTTP client (PingOS ngx_netcall + http client, §4.2): one GET with exactly
// PingOS's request head; only the status line and the Location/Domain headers are read; the
// body is never read. One client per node serves every notification and on_pull; it owns
// every callout's socket, so the node can end them all. Each callout opens its own TCP
// connection, as a real PingOS build does (pingos-observed.md §12: no connection was ever
// reused). Every outcome is a result: -1 stands for "no answer" (connect failure, DNS failure,
// timeout before the response head, a malformed head, connection closed early, the caller
// went away). Never throws. Every callout sent is counted into the node's metrics by its call:
// its duration, and how it failed.
import { connect, type Socket } from 'node:net'
import { resolveFailure, resolveTimedOut, syscallFailure } from '../core/errno.js'
import { EdgeError } from '../core/errors.js'
import { headerValue, ResponseHeadReader } from '../core/http-head.js'
import type { NodeMetrics, NotifyFailure } from '../core/node-metrics.js'
import type { HostResolver } from '../core/resolve.js'

/** The User-Agent PingOS's notify requests carry (operators' servers may check it). */
export const NOTIFY_USER_AGENT = 'nginx/1.17.5'

export interface NotifyRequest {
  /** what it is counted as: the notify `call` (play, publish, pull, ...), proc or master */
  readonly call: string
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

/**
 * A callout's end as the metrics count it: how it failed when there was no answer, or
 * `uncounted` when it was not the server's doing (the caller went away, the node stops).
 */
type NoAnswer = 'timeout' | 'connection_error' | 'uncounted'

interface Ended {
  readonly res: NotifyResponse
  readonly noAnswer: NoAnswer | null
}

function noAnswer(reason: string, why: NoAnswer): Ended {
  return { res: { status: -1, location: null, domain: null, reason }, noAnswer: why }
}

/** the failure an answer's status is counted as */
function statusFailure(status: number): NotifyFailure | null {
  return status >= 500 ? 'status_5xx' : status >= 400 ? 'status_4xx' : null
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
  constructor(public resolver: HostResolver, private readonly metrics: NodeMetrics) {}

  /** callouts in flight */
  get pending(): number {
    return this.sockets.size
  }

  /** One GET; `signal` (the caller went away) ends it at once as no answer. */
  async get(req: NotifyRequest, signal?: AbortSignal): Promise<NotifyResponse> {
    if (this.closed) return noAnswer('stopping', 'uncounted').res
    // not sent: not a callout
    if (UNSAFE_REQUEST_BYTES.test(req.target) || UNSAFE_REQUEST_BYTES.test(req.hostHeader)) return UNSENDABLE
    const startedAt = performance.now()
    const { res, noAnswer: why } = await this.exchange(req, signal)
    if (why !== 'uncounted') this.metrics.notified(req.call, (performance.now() - startedAt) / 1000, why ?? statusFailure(res.status))
    return res
  }

  private async exchange(req: NotifyRequest, signal?: AbortSignal): Promise<Ended> {
    const deadline = Date.now() + req.timeoutMs
    const address = await this.resolve(req.host, req.timeoutMs, signal)
    if (typeof address !== 'string') return address
    if (signal?.aborted === true) return noAnswer('the client went away', 'uncounted')
    if (this.closed) return noAnswer('stopping', 'uncounted')
    return new Promise((resolve) => {
      const socket = connect(req.port, address)
      this.sockets.add(socket)
      const head = new ResponseHeadReader()
      let settled = false
      const finish = (r: Ended): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        this.sockets.delete(socket)
        socket.destroy()
        resolve(r)
      }
      const onAbort = (): void => finish(noAnswer('the client went away', 'uncounted'))
      signal?.addEventListener('abort', onAbort)
      const timer = setTimeout(() => finish(noAnswer('timed out', 'timeout')), Math.max(0, deadline - Date.now()))
      socket.on('connect', () => {
        // UTF-8: RTMP names and args are Unicode strings (AMF0 strings are UTF-8 on the wire)
        socket.write(`GET ${req.target} HTTP/1.1\r\nHost: ${req.hostHeader}\r\nUser-Agent: ${NOTIFY_USER_AGENT}\r\n` +
          `Accept: */*\r\nDate: ${new Date().toUTCString()}\r\n\r\n`, 'utf8')
      })
      socket.on('data', (d: Buffer) => {
        try {
          const res = head.push(d)
          if (res !== null) {
            finish({ res: { status: res.status, location: headerValue(res, 'location'), domain: headerValue(res, 'domain'), reason: '' }, noAnswer: null })
          }
        } catch (err) {
          finish(noAnswer(err instanceof EdgeError ? err.message : String(err), 'connection_error'))
        }
      })
      socket.on('error', (err) => finish(noAnswer(syscallFailure(err), 'connection_error')))
      // the node's stop destroys it: not the server's doing
      socket.on('close', () => finish(noAnswer('connection closed before the response head', this.closed ? 'uncounted' : 'connection_error')))
    })
  }

  /** The address of `host`, within `timeoutMs` (timeout= bounds the lookup too) and until `signal`. */
  private resolve(host: string, timeoutMs: number, signal?: AbortSignal): Promise<string | Ended> {
    return new Promise((resolve) => {
      let settled = false
      const finish = (r: string | Ended): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        resolve(r)
      }
      const onAbort = (): void => finish(noAnswer('the client went away', 'uncounted'))
      if (signal?.aborted === true) {
        resolve(noAnswer('the client went away', 'uncounted'))
        return
      }
      signal?.addEventListener('abort', onAbort)
      const timer = setTimeout(() => finish(noAnswer(resolveTimedOut(host), 'timeout')), timeoutMs)
      this.resolver.resolve(host).then(finish, (err: unknown) => finish(noAnswer(resolveFailure(host, err), 'connection_error')))
    })
  }

  /** End every callout in flight (node stop); later ones get no answer. */
  close(): void {
    this.closed = true
    for (const s of this.sockets) s.destroy()
  }
}
