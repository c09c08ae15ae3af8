// The notify HTTP client (PingOS ngx_netcall + http client, §4.2): one GET with exactly
// PingOS's request head; only the status line and the Location/Domain headers are read; the
// body is never read. Every outcome is a result: -1 stands for "no answer" (connect failure,
// DNS failure, timeout before the response head, connection closed early). Never throws.
import { connect } from 'node:net'
import type { HostResolver } from '../core/resolve.js'

/** The User-Agent PingOS's notify requests carry (operators' servers may check it). */
export const NOTIFY_USER_AGENT = 'nginx/1.17.5'
/** A response head larger than this is no answer (the body is never read). */
export const NOTIFY_MAX_HEAD_BYTES = 16 * 1024

export interface NotifyRequest {
  readonly host: string
  readonly port: number
  /** path and query as they go on the request line */
  readonly target: string
  /** the Host header: the URL host without port */
  readonly hostHeader: string
  /** timeout= : bounds connect and the wait for the response head */
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

export async function notifyGet(req: NotifyRequest, resolver: HostResolver): Promise<NotifyResponse> {
  const deadline = Date.now() + req.timeoutMs
  let address: string
  try {
    address = await resolver.resolve(req.host)
  } catch (err) {
    return noAnswer(`resolve ${req.host}: ${(err as Error).message}`)
  }
  return new Promise((resolve) => {
    const socket = connect(req.port, address)
    let head = ''
    let settled = false
    const finish = (r: NotifyResponse): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve(r)
    }
    const timer = setTimeout(() => finish(noAnswer('timed out')), Math.max(0, deadline - Date.now()))
    socket.setEncoding('latin1')
    socket.on('connect', () => {
      socket.write(`GET ${req.target} HTTP/1.1\r\nHost: ${req.hostHeader}\r\nUser-Agent: ${NOTIFY_USER_AGENT}\r\n` +
        `Accept: */*\r\nDate: ${new Date().toUTCString()}\r\n\r\n`)
    })
    socket.on('data', (d: string) => {
      head += d
      const end = head.indexOf('\r\n\r\n')
      if (end === -1) {
        if (head.length > NOTIFY_MAX_HEAD_BYTES) finish(noAnswer('response head too large'))
        return
      }
      finish(parseHead(head.slice(0, end)))
    })
    socket.on('error', (err) => finish(noAnswer(err.message)))
    socket.on('close', () => finish(noAnswer('connection closed before the response head')))
  })
}

function parseHead(head: string): NotifyResponse {
  const lines = head.split('\r\n')
  const m = /^HTTP\/\d\.\d (\d{3})/.exec(lines[0])
  if (m === null) return noAnswer(`bad status line "${lines[0].slice(0, 80)}"`)
  let location: string | null = null
  let domain: string | null = null
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':')
    if (colon === -1) continue
    const name = line.slice(0, colon).trim().toLowerCase()
    if (name === 'location') location = line.slice(colon + 1).trim()
    else if (name === 'domain') domain = line.slice(colon + 1).trim()
  }
  return { status: Number(m[1]), location, domain, reason: '' }
}
