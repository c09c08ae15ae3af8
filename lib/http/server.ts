// The http{} block: one connection object per socket, requests parsed with nginx's limits,
// routed to a server by Host and to a location as nginx matches them, then handed to the
// location's handler: flv_live, static files, the node's own operations locations (rtmp_stat,
// rtmp_control, sys_stat, edge_metrics), or 404 for handlers edge does not implement.
import { createReadStream, statSync, type ReadStream, type Stats } from 'node:fs'
import type { Socket } from 'node:net'
import { join, normalize } from 'node:path'
import type { AddHeader, HttpServerConf, LocationConf } from '../conf/tree.js'
import { accessAllowed } from '../core/access.js'
import type { LogContext } from '../core/log.js'
import type { OperationsAnswer, OperationsHandler } from '../stats/operations.js'
import { selectServer } from '../core/vhost.js'
import { FlvLiveSession, type FlvContext } from './flv-live.js'
import { BadRequest, HTTP_MAX_HEAD_BYTES, RequestHeadReader, type HttpRequest } from './request.js'
import { FLV_CORS_HEADERS, HEADER_TOO_LARGE, errorPage, responseHead, type HeaderList } from './response.js'

/** client_header_timeout (nginx default 60s): a client must send its request head in time */
export const HTTP_HEADER_TIMEOUT_MS = 60_000
/** send_timeout (nginx default 60s): a response body that does not move for this long ends */
export const HTTP_SEND_TIMEOUT_MS = 60_000
/** lingering_timeout (nginx default 5s): after a last response, how long the client may keep the connection */
export const HTTP_LINGERING_TIMEOUT_MS = 5000

export interface HttpContext extends FlvContext {
  /** the node answers an operations location's request */
  operations(handler: OperationsHandler, loc: LocationConf, path: string, query: string): OperationsAnswer
}

/** The servers sharing one http listening address, the first (or default_server) as default. */
export interface HttpListener {
  readonly servers: readonly HttpServerConf[]
  readonly defaultServer: HttpServerConf
  readonly scheme: 'http' | 'https'
}

/** nginx location matching: exact, longest prefix (^~ stops), regexes in order, nested. */
export function findLocation(locations: readonly LocationConf[], path: string): LocationConf | null {
  let prefix: LocationConf | null = null
  for (const l of locations) {
    if (l.modifier === '=' && l.path === path) return l
    if ((l.modifier === '' || l.modifier === '^~') && path.startsWith(l.path)) {
      if (prefix === null || l.path.length > prefix.path.length) prefix = l
    }
  }
  if (prefix !== null && prefix.locations.length > 0) {
    const nested = findLocation(prefix.locations, path)
    if (nested !== null) return nested
  }
  if (prefix?.modifier !== '^~') {
    for (const l of locations) {
      if (l.regex?.test(path) === true) return l
    }
  }
  return prefix
}

export class HttpConnection {
  private readonly reader = new RequestHeadReader()
  private timer: NodeJS.Timeout | null
  /** a response is being produced; input waits in `held` until it ends */
  private busy = false
  /** bytes of the next request(s) that arrived during a response (bounded like a head) */
  private held: Buffer[] = []
  private heldBytes = 0
  /** the connection will close after this response: further input is ignored */
  private ending = false
  private closed = false
  /** the request being answered is a HEAD: error pages go without their body */
  private headOnly = false
  /** the static file being sent, while it is */
  private body: ReadStream | null = null
  readonly peer: string
  readonly logCtx: LogContext

  constructor(readonly socket: Socket, private readonly listener: HttpListener, private readonly ctx: HttpContext) {
    this.peer = socket.remoteAddress ?? ''
    this.logCtx = { peer: `${this.peer}:${socket.remotePort ?? 0}` }
    this.timer = setTimeout(() => this.close(), HTTP_HEADER_TIMEOUT_MS)
    socket.on('data', (d: Buffer) => this.onData(d))
    socket.on('error', () => this.close())
    socket.on('close', () => this.close())
  }

  private onData(data: Buffer): void {
    if (this.closed || this.ending) return
    if (this.busy) {
      this.held.push(data)
      this.heldBytes += data.length
      if (this.heldBytes > HTTP_MAX_HEAD_BYTES) this.close()
      return
    }
    let req: HttpRequest | null
    try {
      req = this.reader.push(data)
    } catch (err) {
      if (!(err instanceof BadRequest)) throw err
      this.headOnly = false
      this.ctx.log.info(`client sent invalid request: ${err.message} (${err.status})`, this.logCtx)
      // nginx's 494 goes out as 400 with its own page title
      if (err.status === 494) this.sendError(400, [], false, [], HEADER_TOO_LARGE)
      else this.sendError(err.status, [], false)
      return
    }
    if (req === null) return
    this.headOnly = req.method === 'HEAD'
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    this.busy = true
    if (req.rest.length > 0) {
      // pipelined: the next request's bytes came with this one
      this.held.push(req.rest)
      this.heldBytes += req.rest.length
    }
    try {
      this.route(req)
    } catch (err) {
      this.ctx.log.log('alert', `internal error: ${(err as Error).stack ?? String(err)}`, this.logCtx)
      this.close()
    }
  }

  private route(req: HttpRequest): void {
    const host = (req.headers.get('host') ?? '').toLowerCase().replace(/:\d+$/, '')
    const server = selectServer(this.listener.servers, this.listener.defaultServer, host)
    const loc = findLocation(server.locations, req.path)
    if (loc === null) {
      this.sendError(404, [], keepAlive(req))
      return
    }
    // ngx_http_access_module, in the access phase: before any handler
    if (!accessAllowed(loc.access, 'play', this.peer)) {
      this.ctx.log.error('access forbidden by rule', this.logCtx)
      this.sendError(403, [], keepAlive(req))
      return
    }
    const h = loc.handler
    if (h.kind === 'flv_live') {
      // only GET and HEAD play; PingOS plays any method (docs/compat.md)
      if (req.method === 'GET' || req.method === 'HEAD') new FlvLiveSession(this, req, host, loc, h, this.listener.scheme, this.ctx)
      else this.notAllowed(req, FLV_CORS_HEADERS)
      return
    }
    if (h.kind === 'static') {
      this.serveStatic(req, loc)
      return
    }
    if (h.kind !== 'unsupported') {
      this.serveOperations(req, loc, h)
      return
    }
    // ts_live, hls2_live ...: named at start-up as not implemented
    this.sendError(404, [], keepAlive(req))
  }

  private serveOperations(req: HttpRequest, loc: LocationConf, h: OperationsHandler): void {
    const keep = keepAlive(req)
    // as nginx-rtmp's handlers: any method is answered (HEAD without the body)
    const answer = this.ctx.operations(h, loc, req.path, req.query)
    if (answer.status !== 200) {
      this.ctx.log.info(`${h.kind}: "${req.path}?${req.query}": ${answer.why} (${answer.status})`, this.logCtx)
      // nginx closes the connection after a handler's 500 (observed §15)
      this.sendError(answer.status, [], answer.status === 404 && keep)
      return
    }
    const body = Buffer.from(answer.body)
    const head = responseHead(200, this.ctx.serverName, [
      ...(answer.type === null ? [] : [['Content-Type', answer.type] as const]),
      ['Content-Length', String(body.length)],
      ['Connection', keep ? 'keep-alive' : 'close'],
    ], loc.addHeaders)
    this.socket.cork()
    this.socket.write(head)
    if (req.method !== 'HEAD') this.socket.write(body)
    this.socket.uncork()
    this.done(keep)
  }

  /** A finished response: the connection takes the next request, or closes (further input ignored). */
  done(keepOpen: boolean): void {
    if (!keepOpen) {
      this.ending = true
      // what is still queued must leave within send_timeout; then a client that never closes
      // its side may hold the connection for lingering_timeout, not for ever (worker_connections)
      this.arm(HTTP_SEND_TIMEOUT_MS)
      this.socket.end(() => { if (!this.closed) this.arm(HTTP_LINGERING_TIMEOUT_MS) })
      return
    }
    this.busy = false
    this.arm(HTTP_HEADER_TIMEOUT_MS)
    const held = this.held
    this.held = []
    this.heldBytes = 0
    for (const d of held) this.onData(d)
  }

  sendError(status: number, extra: HeaderList, keepOpen: boolean, addHeaders: readonly AddHeader[] = [], reason?: string): void {
    this.busy = true
    const body = errorPage(status, this.ctx.serverName, reason)
    const head = responseHead(status, this.ctx.serverName, [
      ['Content-Type', 'text/html'],
      ['Content-Length', String(body.length)],
      ['Connection', keepOpen ? 'keep-alive' : 'close'],
      ...extra,
    ], addHeaders)
    this.socket.cork()
    this.socket.write(head)
    if (!this.headOnly) this.socket.write(body)
    this.socket.uncork()
    this.done(keepOpen)
  }

  /** 405, as nginx's content handlers answer a method they do not serve (keepAlive: not after a body). */
  private notAllowed(req: HttpRequest, extra: HeaderList): void {
    this.sendError(405, extra, keepAlive(req))
  }

  // Static files as nginx's static module serves them: root or alias + path, index files for
  // directories, a redirect for a directory without its slash, types by extension.
  private serveStatic(req: HttpRequest, loc: LocationConf): void {
    const keep = keepAlive(req)
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      this.notAllowed(req, [])
      return
    }
    const rel = loc.alias !== null && loc.modifier !== '~' && loc.modifier !== '~*' ? req.path.slice(loc.path.length) : req.path
    const base = normalize(loc.alias ?? loc.root)
    let file = normalize(join(base, rel))
    if (file !== base && !file.startsWith(base.endsWith('/') ? base : `${base}/`)) {
      this.sendError(400, [], false)
      return
    }
    let st = statOrNull(file)
    if (st?.isDirectory() === true) {
      if (!req.path.endsWith('/')) {
        const host = req.headers.get('host') ?? ''
        const location = `${this.listener.scheme}://${host}${req.path}/${req.query === '' ? '' : `?${req.query}`}`
        this.sendError(301, [['Location', location]], keep, loc.addHeaders)
        return
      }
      const index = loc.index.map((i) => join(file, i)).find((p) => statOrNull(p)?.isFile() === true)
      if (index === undefined) {
        this.sendError(403, [], keep)
        return
      }
      file = index
      st = statOrNull(file)
    }
    if (st === null || !st.isFile()) {
      this.sendError(404, [], keep)
      return
    }
    const dot = file.lastIndexOf('.')
    const ext = dot > file.lastIndexOf('/') ? file.slice(dot + 1).toLowerCase() : ''
    const type = loc.types.get(ext) ?? loc.defaultType
    const head = responseHead(200, this.ctx.serverName, [
      ['Content-Type', type],
      ['Content-Length', String(st.size)],
      ['Last-Modified', st.mtime.toUTCString()],
      ['Connection', keep ? 'keep-alive' : 'close'],
      ['ETag', `"${Math.floor(st.mtimeMs / 1000).toString(16)}-${st.size.toString(16)}"`],
      ['Accept-Ranges', 'bytes'],
    ], loc.addHeaders)
    this.socket.write(head)
    if (req.method === 'HEAD') {
      this.done(keep)
      return
    }
    const stream = createReadStream(file)
    this.body = stream
    // the file is read only as fast as the socket drains: a read is progress
    this.arm(HTTP_SEND_TIMEOUT_MS)
    stream.on('data', () => this.timer?.refresh())
    stream.on('error', () => this.close())
    stream.on('end', () => {
      this.body = null
      this.done(keep)
    })
    stream.pipe(this.socket, { end: false })
  }

  /** The connection's one timer: closes it unless re-armed or refreshed in time. */
  private arm(ms: number): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = setTimeout(() => this.close(), ms)
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    if (this.timer !== null) clearTimeout(this.timer)
    this.body?.destroy() // the file's descriptor goes with the connection
    this.body = null
    this.socket.destroy()
  }
}

function keepAlive(req: HttpRequest): boolean {
  // nginx reads and drops a request body and keeps the connection; edge reads no bodies, so a
  // request with one is answered and the connection closed (its body is never taken for a next request)
  const length = req.headers.get('content-length')
  if ((length !== undefined && length !== '0') || req.headers.get('transfer-encoding') !== undefined) return false
  const c = (req.headers.get('connection') ?? '').toLowerCase()
  return req.version === 11 ? c !== 'close' : c === 'keep-alive'
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES' || code === 'ENAMETOOLONG') return null
    throw err
  }
}
