// Origin pull (PingOS ngx_live_relay*, ngx_rtmp_notify on_pull; pingos-behaviour.md §2, §3).
//
//   player plays a stream with no publisher, app has `on_pull` or `pull`
//        │
//        ▼
//   PullLeg joins the stream as its publisher (priority -1) at once, before any I/O,
//   so every later player of the key simply joins it (one pull per stream)
//        │
//        ▼  attempt (deadline relay_reconnect from its start)
//   on_pull? ── GET call=pull&act=start ──► 3xx Location → origin   200 → give up, players wait
//        │                                  4xx/5xx → players fail   no answer → next attempt
//        ▼
//   origin: rtmp:// → RtmpClientSession (connect, createStream, play)
//           http:// → FlvClient (GET /<app>/<name>[?<pargs>])
//        │ Play.Start / 200 → publishing: media → stream.publish
//        │ every read bounded in every state: TCP connect by connect_timeout, then the server's
//        │ `timeout` between reads; a silent origin is dropped like a closed one (issue 9)
//        ▼
//   attempt ends (EOF, error, silence, deadline) while players remain → next attempt:
//     after success: at once, from the first URL;   untried URLs: the next one at once;
//     deadline expired: at once, back-off doubled;  fast failure: wait back-off (50 ms, ×2, ≤ relay_reconnect)
//   the last player leaves → the leg stops at once (no linger, §2.4)
import type { AppConf, NotifyConf, RelayConf, RtmpServerConf } from '../conf/tree.js'
import type { Logger, LogContext } from '../core/log.js'
import type { HostResolver } from '../core/resolve.js'
import { FlvClient } from '../flv/client.js'
import type { LiveStream, PublisherHandle } from '../live/stream.js'
import { MSG_AUDIO, MSG_VIDEO, type MediaMessage } from '../media/message.js'
import type { NotifyResponse } from '../notify/client.js'
import { NotifySubject, type NotifyAct } from '../notify/events.js'
import type { Notifier } from '../notify/stages.js'
import { RtmpClientSession } from '../rtmp/client-session.js'
import type { PlayFailure, PlayInfo, Stage, StageRequest } from '../stages.js'

/** What a pull needs from the node. */
export interface RelayContext {
  readonly log: Logger
  readonly resolver: HostResolver
  /** the node's notify client: on_pull */
  readonly notify: Notifier
  /** release the stream from the hub once nothing references it; `by` left last */
  release(stream: LiveStream, by: NotifySubject): void
  /** connect_timeout (client module, main level; default 3s): the TCP connect to an origin */
  readonly connectTimeoutMs: number
}

/** Where one attempt pulls from. */
export interface PullTarget {
  readonly scheme: 'rtmp' | 'http'
  readonly host: string
  readonly port: number
  readonly app: string
  readonly name: string
  readonly pargs: string
  /** tcUrl host (RTMP) or Host header (HTTP) */
  readonly domain: string
  readonly referer: string
  readonly userAgent: string
}

/** Defaults an HTTP-FLV player's pull carries (§2.3): audioCodecs / videoCodecs. */
const DEFAULT_AUDIO_CODECS = 3575
const DEFAULT_VIDEO_CODECS = 252

// RTMP origin errors forwarded to the players, with the HTTP status HTTP-FLV players get (§2.3).
const FORWARDED_RTMP_ERRORS: Readonly<Record<string, number>> = {
  'NetStream.Publish.BadName': 400,
  'NetStream.Stream.Forbidden': 403,
  'NetStream.Play.StreamNotFound': 404,
  'NetStream.Relay.ServerError': 500,
}

/** A non-200 HTTP origin answer as players see it (§2.3). */
export function httpOriginFailure(status: number): PlayFailure {
  const [code, description] =
    status === 400 ? ['NetStream.Play.BadName', 'Bad Request']
      : status === 403 ? ['NetStream.Play.Forbidden', 'Forbidden']
        : status === 404 ? ['NetStream.Play.StreamNotFound', 'No such stream']
          : status === 503 ? ['NetStream.Play.ServiceUnavailable', 'Service Unavailable']
            : ['NetStream.Play.StreamError', 'Stream Error']
  return { level: 'error', code, description, viaError: false, httpStatus: status }
}

/** on_pull 4xx/5xx: HTTP-FLV 404; RTMP players get StreamNotFound before the close (compat fix). */
const NOTIFY_REFUSED: PlayFailure = {
  level: 'error', code: 'NetStream.Play.StreamNotFound', description: 'No such stream', viaError: false, httpStatus: 404,
}

/** The target of a static `pull` URL: non-empty parameters override the player's fields. */
export function staticTarget(pull: RelayConf, urlIndex: number, info: PlayInfo): PullTarget {
  const url = pull.urls[urlIndex]
  return {
    scheme: url.scheme,
    host: url.host,
    port: url.port,
    app: pull.app || info.app,
    name: pull.name || info.name,
    pargs: pull.pargs || info.pargs,
    domain: pull.domain || info.domain,
    referer: pull.referer || info.pageUrl,
    userAgent: pull.userAgent || info.flashVer,
  }
}

/**
 * The target of an on_pull redirect (§3.4): rtmp:// → RTMP, any other scheme → HTTP-FLV; the
 * first path segment is the app, the rest the name; missing parts and a missing query keep the
 * player's; the Domain header names the domain. Null when the Location cannot be used.
 */
export function locationTarget(location: string, domainHeader: string | null, info: PlayInfo): PullTarget | null {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?:]+)(?::(\d*))?(\/[^?]*)?(?:\?(.*))?$/s.exec(location)
  if (m === null) return null
  const written = m[1]
  const scheme = written.toLowerCase() === 'rtmp' ? 'rtmp' : 'http'
  const defaults: Record<string, number> = { rtmp: 1935, http: 80, https: 443 }
  const port = m[3] !== undefined && m[3] !== '' ? Number(m[3]) : defaults[written] ?? 0
  if (!(port > 0 && port < 65536)) return null
  const path = (m[4] ?? '').slice(1)
  const slash = path.indexOf('/')
  const app = slash === -1 ? path : path.slice(0, slash)
  const name = slash === -1 ? '' : path.slice(slash + 1)
  return {
    scheme,
    host: m[2],
    port,
    app: app || info.app,
    name: name || info.name,
    pargs: m[5] ?? info.pargs,
    domain: domainHeader ?? info.domain,
    referer: info.pageUrl,
    userAgent: info.flashVer,
  }
}

/**
 * relay.pull (§2.2, §3.2): a player of a stream with no publisher starts a pull leg (in an
 * application with `on_pull` or `pull`: the stage is composed only there).
 */
export function pullStage(ctx: () => RelayContext): Stage<StageRequest<LiveStream>> {
  return (req) => {
    const stream = req.stream as LiveStream
    if (!stream.hasPublisher) new PullLeg(ctx(), stream, req.app, req.server, req.info).start()
    return null
  }
}

export class PullLeg implements PublisherHandle {
  readonly priority = -1
  private client: RtmpClientSession | FlvClient | null = null
  /** increments per attempt; late callbacks of an old attempt are ignored */
  private attempt = 0
  private attemptPlaying = false
  /** the attempt delivered media: only then is its end a reason to retry at once (docs/compat.md) */
  private attemptGotMedia = false
  private urlIndex = 0
  private backoffMs: number
  private deadline: NodeJS.Timeout | null = null
  /** when the current attempt's deadline falls due (ms since the epoch) */
  private deadlineAt = 0
  private retry: NodeJS.Timeout | null = null
  private stopUpdates: (() => void) | null = null
  /** stops listening for the stream's last player */
  private unlisten: (() => void) | null = null
  /** the leg's notify variables: clientid 0, the trigger's fields, evaluated once (§3.3, §6.3) */
  private readonly subject: NotifySubject
  /** the attempt whose act=done went out (one per attempt) */
  private doneSentFor = 0
  /** the last attempt that ended: closing its client re-enters attemptEnded, which must not count twice */
  private endedAttempt = 0
  private stopped = false
  private readonly logCtx: LogContext

  constructor(
    private readonly ctx: RelayContext,
    private readonly stream: LiveStream,
    private readonly app: AppConf,
    private readonly server: RtmpServerConf,
    /** the triggering player's fields, copied (§2.2) */
    private readonly info: PlayInfo,
  ) {
    this.backoffMs = app.failedReconnectMs
    this.logCtx = { session: 0, app: info.app, name: info.name }
    this.subject = new NotifySubject(info, { clientId: 0, groupId: app.notify.pull?.groupId ?? null, leg: true, logCtx: this.logCtx })
  }

  start(): void {
    this.stream.addPublisher(this)
    this.unlisten = this.stream.on('playersEmpty', () => this.stop('last player left'))
    this.begin()
  }

  private begin(): void {
    const id = ++this.attempt
    this.attemptPlaying = false
    this.attemptGotMedia = false
    this.deadlineAt = Date.now() + this.app.relayReconnectMs
    this.deadline = setTimeout(() => this.onDeadline(id), this.app.relayReconnectMs)
    const onPull = this.app.notify.pull
    if (onPull !== null) {
      this.askOnPull(onPull, id)
      return
    }
    this.connect(staticTarget(this.app.pull as RelayConf, this.urlIndex, this.info), id)
  }

  // ---- on_pull --------------------------------------------------------------------------------

  private notifyRequest(conf: NotifyConf, act: NotifyAct): Promise<NotifyResponse> {
    return this.ctx.notify.ask(conf, 'pull', act, this.subject)
  }

  private askOnPull(conf: NotifyConf, id: number): void {
    this.ctx.log.info(`on_pull: asking ${conf.url}`, this.logCtx)
    void this.notifyRequest(conf, 'start').then((res) => {
      if (this.stopped || id !== this.attempt) return
      if (res.status === -1) {
        // timeout= equal to relay_reconnect (both 3 s by default): PingOS's deadline wins and the
        // next ask is immediate (observed §7.2); which timer Node fires first must not decide it
        this.attemptEnded(id, Date.now() >= this.deadlineAt)
      } else if (res.status >= 400) {
        this.sendDone()
        this.stream.failPlayers(NOTIFY_REFUSED)
        this.stop(`on_pull answered ${res.status}`)
      } else if (res.status === 200) {
        // "nothing to pull": the players stay and wait; the next player asks again
        this.ctx.log.info('on_pull: 200, nothing to pull', this.logCtx)
        this.sendDone()
        this.stop('on_pull answered 200')
      } else {
        const target = res.location === null ? null : locationTarget(res.location, res.domain, this.info)
        if (target === null) {
          this.ctx.log.error(`on_pull: ${res.status} without a usable Location (${res.location ?? 'none'})`, this.logCtx)
          this.attemptEnded(id, false)
          return
        }
        this.ctx.log.info(`on_pull: ${res.status} → ${res.location}`, this.logCtx)
        this.startUpdates(conf)
        this.connect(target, id)
      }
    })
  }

  private startUpdates(conf: NotifyConf): void {
    if (!conf.stages.update || this.stopUpdates !== null) return
    this.stopUpdates = this.ctx.notify.updates(conf, 'pull', this.subject)
  }

  /** act=done after every attempt, fire and forget (§3.5) */
  private sendDone(): void {
    const conf = this.app.notify.pull
    if (conf === null || !conf.stages.done || this.doneSentFor === this.attempt) return
    this.doneSentFor = this.attempt
    void this.notifyRequest(conf, 'done')
  }

  // ---- origin ---------------------------------------------------------------------------------

  private connect(target: PullTarget, id: number): void {
    const url = `${target.scheme}://${target.host}:${target.port}`
    this.ctx.log.info(`pull: ${url} app='${target.app}' name='${target.name}' args='${target.pargs}' domain='${target.domain}'`, this.logCtx)
    this.ctx.resolver.resolve(target.host).then((address) => {
      if (this.stopped || id !== this.attempt) return
      this.client = target.scheme === 'rtmp' ? this.rtmpClient(target, address, id) : this.flvClient(target, address, id)
      this.client.start()
    }, (err: Error) => {
      if (this.stopped || id !== this.attempt) return
      this.ctx.log.error(`pull: cannot resolve ${target.host}: ${err.message}`, this.logCtx)
      this.attemptEnded(id, false)
    })
  }

  private rtmpClient(t: PullTarget, address: string, id: number): RtmpClientSession {
    const info = this.info
    return new RtmpClientSession({
      host: address,
      port: t.port,
      app: info.args === '' ? t.app : `${t.app}?${info.args}`,
      tcUrl: `rtmp://${t.domain}/${t.app}`,
      pageUrl: t.referer,
      swfUrl: info.swfUrl,
      flashVer: t.userAgent,
      audioCodecs: info.audioCodecs || DEFAULT_AUDIO_CODECS,
      videoCodecs: info.videoCodecs || DEFAULT_VIDEO_CODECS,
      playName: t.pargs === '' ? t.name : `${t.name}?${t.pargs}`,
      relayBufferMs: this.app.relayBufferMs,
      chunkSize: this.server.chunkSize,
      ackWindow: this.server.ackWindow,
      maxMessageBytes: this.server.maxMessageBytes,
      connectTimeoutMs: this.ctx.connectTimeoutMs,
      readTimeoutMs: this.server.timeoutMs,
    }, {
      onPlaying: () => this.playing(id),
      onMedia: (msg) => this.media(id, msg),
      onStatus: (s) => {
        if (id !== this.attempt || s.level !== 'error') return
        const httpStatus = FORWARDED_RTMP_ERRORS[s.code]
        if (httpStatus === undefined) return
        this.ctx.log.info(`pull: origin answered ${s.code} "${s.description}"`, this.logCtx)
        this.stream.failPlayers({ ...s, httpStatus })
      },
      onClose: (reason) => this.clientClosed(id, reason),
    })
  }

  private flvClient(t: PullTarget, address: string, id: number): FlvClient {
    return new FlvClient({
      host: address,
      port: t.port,
      path: `/${t.app}/${t.name}${t.pargs === '' ? '' : `?${t.pargs}`}`,
      hostHeader: t.domain,
      userAgent: t.userAgent,
      referer: t.referer,
      maxTagBytes: this.server.maxMessageBytes,
      connectTimeoutMs: this.ctx.connectTimeoutMs,
      readTimeoutMs: this.server.timeoutMs,
    }, {
      onResponse: (status) => {
        if (id !== this.attempt) return
        if (status === 200) {
          this.playing(id)
          return
        }
        this.ctx.log.info(`pull: http origin answered ${status}`, this.logCtx)
        this.stream.failPlayers(httpOriginFailure(status))
      },
      onMedia: (msg) => this.media(id, msg),
      onClose: (reason) => this.clientClosed(id, reason),
    })
  }

  private playing(id: number): void {
    if (id !== this.attempt || this.stopped) return
    this.attemptPlaying = true
    this.clearDeadline()
    this.ctx.log.info('pull: publishing', this.logCtx)
  }

  private media(id: number, msg: MediaMessage): void {
    if (id !== this.attempt || this.stopped) return
    if (!this.attemptGotMedia) {
      this.attemptGotMedia = true
      this.backoffMs = this.app.failedReconnectMs
    }
    if (msg.typeId === MSG_AUDIO || msg.typeId === MSG_VIDEO) this.stream.publish(this, msg)
    else {
      const refused = this.stream.publishData(this, msg)
      if (refused !== null) this.ctx.log.warn(`pull: ${refused}`, this.logCtx)
    }
  }

  private clientClosed(id: number, reason: string): void {
    if (id !== this.attempt || this.stopped) return
    this.client = null
    this.ctx.log.info(`pull: closed: ${reason}`, this.logCtx)
    this.attemptEnded(id, false)
  }

  private onDeadline(id: number): void {
    if (id !== this.attempt || this.stopped) return
    this.deadline = null
    this.ctx.log.info('pull: relay timeout', this.logCtx)
    this.attemptEnded(id, true)
  }

  // ---- retries (§2.5) -------------------------------------------------------------------------

  private attemptEnded(id: number, byDeadline: boolean): void {
    if (id !== this.attempt || this.stopped || id === this.endedAttempt) return
    this.endedAttempt = id
    this.clearDeadline()
    const client = this.client
    this.client = null
    client?.close('attempt ended')
    this.sendDone()
    if (this.attemptPlaying) this.stream.endMedia(this)
    // PingOS retries at once after any attempt that reached "publishing"; an origin answering
    // 200 or Play.Start and then failing would be hammered, so edge asks for media too.
    const succeeded = this.attemptGotMedia
    if (this.stopped || !this.stream.hasPlayers) {
      this.stop('no players left')
      return
    }
    const urls = this.app.notify.pull === null ? (this.app.pull as RelayConf).urls.length : 1
    if (succeeded) {
      this.urlIndex = 0
      this.backoffMs = this.app.failedReconnectMs
      this.begin()
    } else if (this.urlIndex + 1 < urls) {
      this.urlIndex++
      this.begin()
    } else {
      this.urlIndex = 0
      const wait = byDeadline ? 0 : this.backoffMs
      this.backoffMs = Math.min(this.backoffMs * 2, this.app.relayReconnectMs)
      if (wait === 0) {
        this.begin()
        return
      }
      this.ctx.log.info(`pull: retry in ${wait} ms`, this.logCtx)
      this.retry = setTimeout(() => {
        this.retry = null
        if (!this.stopped) this.begin()
      }, wait)
    }
  }

  private clearDeadline(): void {
    if (this.deadline !== null) clearTimeout(this.deadline)
    this.deadline = null
  }

  /** The stream ends under the leg (its application is gone after a reload). */
  close(reason: string): void {
    this.stop(reason)
  }

  /** Stop for good: no players left, or on_pull said no (200 or 4xx/5xx). */
  stop(reason: string): void {
    if (this.stopped) return
    this.stopped = true
    const inFlight = this.retry === null
    this.clearDeadline()
    if (this.retry !== null) clearTimeout(this.retry)
    this.stopUpdates?.()
    this.unlisten?.()
    this.retry = null
    this.stopUpdates = this.unlisten = null
    const client = this.client
    this.client = null
    client?.close(reason)
    this.stream.removePublisher(this)
    this.ctx.log.info(`pull: stopped: ${reason}`, this.logCtx)
    // the leg leaves last: on_stream done (from the leg), then on_pull done (§3.5, observed §13.2)
    this.ctx.release(this.stream, this.subject)
    // an attempt in flight ends now: its act=done goes out (a back-off wait already sent it)
    if (inFlight) this.sendDone()
  }
}
