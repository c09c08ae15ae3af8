// An HTTP-FLV player (PingOS ngx_http_flv_live_module, pingos-behaviour.md §8): the URL names
// app and stream, the play joins the live stream like an RTMP play, and nothing at all is
// written until the first frame is queued; a `timeout` without one ends in 503.
import type { AppConf, FlvLiveHandler, LocationConf, RtmpConf } from '../conf/tree.js'
import type { Logger, LogContext } from '../core/log.js'
import type { NodeMetrics } from '../core/node-metrics.js'
import { Output, type WriteMergers } from '../core/output.js'
import { queryArg } from '../core/query.js'
import { selectServer } from '../core/vhost.js'
import { encodeFlvHeader } from '../flv/tag.js'
import type { Frame } from '../live/frame.js'
import type { PlayClient, PlayRequest } from '../live/stages.js'
import { StageRequest, type Outcome, type PlayFailure } from '../stages.js'
import type { HttpConnection } from './server.js'
import type { HttpRequest } from './request.js'
import { FLV_CORS_HEADERS, responseHead } from './response.js'

export interface FlvContext {
  readonly log: Logger
  /** flush players' merged output (merge_time, merge_frame) */
  readonly mergers: WriteMergers
  /** the node's counters (slow players closed) */
  readonly metrics: NodeMetrics
  /** `Server` header and error-page footer */
  readonly serverName: string
  readonly rtmp: RtmpConf | null
  nextSessionId(): number
  /** run the play pipeline of the request's application; `outcome` is told how it went */
  play(req: PlayRequest, outcome: Outcome): void
  /**
   * The application a connect to `app` on the rtmp listener `listen` (its address text) for
   * `domain` finds in the configuration now: a reload may have changed or removed it.
   */
  currentApp(listen: string, domain: string, app: string): AppConf | null
  /** the stream has a publisher now (a HEAD's answer) */
  published(serverId: string, app: string, name: string): boolean
}

/** Longest stream name PingOS accepts in an HTTP-FLV URL (§8.2). */
export const FLV_MAX_NAME_BYTES = 256
/** The query becomes the play args, truncated as PingOS does (§8.2). */
export const FLV_MAX_ARGS_BYTES = 255

const CRLF = Buffer.from('\r\n', 'latin1')

/** §8.2: URL → app and stream name; null when the URL has no name (400). */
export function parseFlvUrl(path: string, query: string, handlerApp: string | null): { app: string, name: string } | null {
  let p = path.slice(1)
  const flv = p.indexOf('.flv')
  if (flv !== -1) p = p.slice(0, flv)
  const slash = p.lastIndexOf('/')
  if (slash === -1) return null
  let app = p.slice(0, slash)
  const name = p.slice(slash + 1)
  if (name === '' || Buffer.byteLength(name) > FLV_MAX_NAME_BYTES) return null
  if (handlerApp !== null) app = handlerApp
  const queryApp = queryArg(query, 'app')
  if (queryApp !== null) app = queryApp
  return { app, name }
}

/**
 * A request-head string (latin1: one character per byte) as the text it encodes: the play's
 * fields are text, as an RTMP player's are, so that notifications and pulls send the same bytes.
 */
function utf8(headText: string): string {
  return Buffer.from(headText, 'latin1').toString('utf8')
}

export class FlvLiveSession implements PlayClient {
  readonly format = 'flv' as const
  readonly id: number
  private request: PlayRequest | null = null
  private headersSent = false
  private closed = false
  private timer: NodeJS.Timeout | null = null
  private readonly chunked: boolean
  private readonly logCtx: LogContext
  private readonly out: Output

  constructor(
    private readonly conn: HttpConnection,
    private readonly req: HttpRequest,
    host: string,
    private readonly loc: LocationConf,
    private readonly handler: FlvLiveHandler,
    scheme: 'http' | 'https',
    private readonly ctx: FlvContext,
  ) {
    this.id = ctx.nextSessionId()
    this.chunked = req.version === 11 && loc.chunkedTransferEncoding
    this.logCtx = { ...conn.logCtx, session: this.id }
    this.out = new Output(conn.socket, (unsent) => {
      ctx.metrics.slowPlayersClosed.send_timeout++
      this.close(`send timed out, ${unsent} bytes unsent`)
    })
    conn.socket.once('close', this.onSocketClose)
    const url = parseFlvUrl(req.path, req.query, handler.app)
    if (url === null) {
      this.refuse(400, `flv: no stream name in "${req.path}"`)
      return
    }
    const listener = ctx.rtmp?.listeners.find((l) => l.address.text === handler.rtmpListenAddress)
    if (listener === undefined) {
      this.refuse(404, `flv: no rtmp listener ${handler.rtmpListen}`)
      return
    }
    const server = selectServer(listener.servers, listener.defaultServer, host)
    // the application as configured now, also for a keep-alive connection made before a reload
    const app = ctx.currentApp(listener.address.text, host, url.app)
    const logName = { ...this.logCtx, app: url.app, name: url.name }
    if (app === null) {
      this.refuse(404, `flv: no application "${url.app}"`, logName)
      return
    }
    if (req.method === 'HEAD') {
      // a HEAD asks whether the stream plays and starts nothing (issue 12): no on_play, no pull
      if (ctx.published(listener.serverId, url.app, url.name)) this.sendHead()
      else this.refuse(404, `flv: HEAD of "${url.name}": not published`, logName)
      return
    }
    const timeoutMs = listener.defaultServer.timeoutMs
    this.timer = setTimeout(() => this.refuse(503, 'flv: no data within timeout', logName), timeoutMs)
    ctx.log.info(`flv play: app='${url.app}' name='${url.name}' args='${req.query}' ${scheme}`, logName)
    // a write blocked for `timeout` ends the session (§8.6)
    this.out.configure(ctx.mergers.get(app.mergeTimeMs), app.mergeFrame, timeoutMs)
    const s = conn.socket
    const play: PlayRequest = new StageRequest('play', {
      clientId: this.id,
      domain: host,
      app: url.app,
      name: url.name,
      pargs: utf8(req.query.slice(0, FLV_MAX_ARGS_BYTES)),
      args: '',
      flashVer: utf8(queryArg(req.query, 'flashver') ?? ''),
      swfUrl: '',
      tcUrl: `${scheme}://${host}/${url.app}`,
      pageUrl: utf8(req.headers.get('referer') ?? ''),
      audioCodecs: 0,
      videoCodecs: 0,
      scheme,
      serverId: listener.serverId,
      remoteAddr: conn.peer,
      remotePort: String(s.remotePort ?? ''),
      serverAddr: s.localAddress ?? '',
      serverPort: String(s.localPort ?? ''),
      listen: listener.address.text,
    }, app, server, this)
    this.enter(play, logName)
  }

  /** Run the play pipeline for `req`; once it plays, the cached burst goes out (not after the merge delay). */
  private enter(req: PlayRequest, logCtx: LogContext): void {
    this.request = req
    this.ctx.play(req, (failure) => {
      if (failure !== null) this.refuse(failure.httpStatus, `flv: play refused: ${failure.code}`, logCtx)
      else this.out.flush()
    })
  }

  get queuedBytes(): number {
    return this.out.queuedBytes
  }

  /** Error status before any byte was sent; the module's CORS headers come with it (§8.7). */
  private refuse(status: number, reason: string, logCtx: LogContext = this.logCtx): void {
    this.ctx.log.info(`${reason}: ${status}`, logCtx)
    this.clearTimers()
    this.leave()
    if (this.closed) return
    this.closed = true
    if (this.headersSent) this.conn.close()
    else {
      // a keep-alive connection goes on to its next request without this session
      this.conn.socket.off('close', this.onSocketClose)
      this.conn.sendError(status, FLV_CORS_HEADERS, status !== 400)
    }
  }

  private readonly onSocketClose = (): void => this.close('client disconnected')

  private sendHead(): void {
    this.headersSent = true
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    this.out.write(responseHead(200, this.ctx.serverName, [
      ['Content-Type', 'video/x-flv'],
      ...(this.chunked ? [['Transfer-Encoding', 'chunked'] as const] : []),
      ['Connection', 'close'],
      ...FLV_CORS_HEADERS,
    ], this.loc.addHeaders))
    if (this.req.method === 'HEAD') {
      this.out.flush()
      this.close('HEAD answered')
      return
    }
    this.writeBody(encodeFlvHeader(this.handler.audio || !this.handler.video, this.handler.video || !this.handler.audio), null)
  }

  private writeBody(data: Buffer, head: Buffer | null): void {
    if (this.chunked) this.out.write(head ?? Buffer.from(`${data.length.toString(16)}\r\n`, 'latin1'), data, CRLF)
    else this.out.write(data)
  }

  writeFrame(frame: Frame): void {
    if (this.closed) return
    if (!this.headersSent) {
      this.sendHead()
      if (this.closed) return
    }
    this.writeBody(frame.flv, this.chunked ? frame.flvChunkHead : null)
  }

  streamBegin(): void {}

  fail(failure: PlayFailure): void {
    this.refuse(failure.httpStatus, `flv: play failed: ${failure.code}`)
  }

  streamEof(): void {}

  joined(): void {}

  /** rtmp_control redirect (§9.2): the same response goes on with the stream `target` names. */
  redirect(target: string): void {
    const old = this.request
    if (old === null || this.closed) return
    const q = target.indexOf('?')
    const name = q === -1 ? target : target.slice(0, q)
    this.ctx.log.info(`flv play: redirected to '${name}' by rtmp_control`, this.logCtx)
    this.leave()
    // the application as configured now (a reload may have changed or removed it)
    const app = this.ctx.currentApp(old.info.listen, old.info.domain, old.info.app)
    if (app === null) {
      this.close(`application "${old.info.app}" was removed by a reload`)
      return
    }
    this.enter(new StageRequest('play', { ...old.info, name, pargs: q === -1 ? '' : target.slice(q + 1) }, app, old.server, this), this.logCtx)
  }

  private leave(): void {
    const req = this.request
    this.request = null
    req?.close()
  }

  private clearTimers(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    this.out.close()
  }

  close(reason: string): void {
    this.clearTimers()
    this.leave()
    if (this.closed) return
    this.closed = true
    this.ctx.log.info(`flv close: ${reason}`, this.logCtx)
    this.conn.close()
  }
}
