// A relay leg's attempts, shared by pull legs (a publisher whose source is an origin) and push
// legs (a player whose sink is a remote server): pingos-behaviour.md §2.5, §3.5, §5.1, §5.3.
//
//   begin ── deadline relay_reconnect from the attempt's start ──────────────────────────┐
//     │                                                                                  │
//     ├─ on_pull / on_push line? ── GET act=start ─► 3xx Location → connect there        │
//     │                                             200 → give up (done, stop)           │
//     │                                             ≥ 400 → refused (done, stop)         │
//     │                                             no answer / bad Location → ended     │
//     └─ static line: connect to its URL of this turn                                    │
//                                                                                        ▼
//   ended (the client closed, an error, the deadline) ─► act=done ─► still wanted? ─► next attempt:
//     after media flowed: at once, from the first URL;   untried URLs: the next one at once;
//     deadline expired: at once, back-off doubled;       fast failure: wait back-off (50 ms, ×2, ≤ relay_reconnect)
//   not wanted any more (pull: no player; push: no publisher) ─► stop
import type { Socket } from 'node:net'
import type { AppConf, NotifyConf, RelayConf, RtmpServerConf } from '../conf/tree.js'
import { resolveFailure } from '../core/errno.js'
import type { Logger, LogContext } from '../core/log.js'
import type { NodeMetrics, RelayFailure, RelayLegGauge } from '../core/node-metrics.js'
import type { HostResolver } from '../core/resolve.js'
import type { LiveStream } from '../live/stream.js'
import { member, type Member } from '../live/publisher.js'
import type { NotifyResponse } from '../notify/client.js'
import type { NotifySubject, NotifyAct } from '../notify/events.js'
import type { Notifier } from '../notify/stages.js'
import type { MediaMessage } from '../media/message.js'
import { RtmpClientSession, type RtmpClientOptions } from '../rtmp/client-session.js'
import type { PlayFailure, PlayInfo } from '../stages.js'

/** What a relay leg needs from the node. */
export interface RelayContext {
  readonly log: Logger
  readonly resolver: HostResolver
  /** the node's notify client: on_pull, on_push */
  readonly notify: Notifier
  /** release the stream from the hub once nothing references it; `by` left last */
  release(stream: LiveStream, by: NotifySubject): void
  /** connect_timeout (client module, main level; default 3s): the TCP connect to an origin or push target */
  readonly connectTimeoutMs: number
  /** the node counts a leg's connection in its byte totals (rtmp_stat, metrics) */
  countBytes(socket: Socket): void
  /** the node's counters: legs by state, failed attempts, a pull's time to its first keyframe */
  readonly metrics: NodeMetrics
}

/** Where one attempt pulls from or pushes to. */
export interface RelayTarget {
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

/** Error codes a remote answers play or publish with that reach the local sessions, and the HTTP status they mean (§2.3, §5.2). */
const RELAY_ERROR_STATUS: Readonly<Record<string, number>> = {
  'NetStream.Publish.BadName': 400,
  'NetStream.Stream.Forbidden': 403,
  'NetStream.Play.StreamNotFound': 404,
  'NetStream.Relay.ServerError': 500,
}

/** Defaults a leg's connect carries when its session sent none (§2.3): audioCodecs / videoCodecs. */
const DEFAULT_AUDIO_CODECS = 3575
const DEFAULT_VIDEO_CODECS = 252

/** The target of a static `pull`/`push` URL: non-empty parameters override the session's fields. */
export function staticTarget(line: RelayConf, urlIndex: number, info: PlayInfo): RelayTarget {
  const url = line.urls[urlIndex]
  return {
    scheme: url.scheme,
    host: url.host,
    port: url.port,
    app: line.app || info.app,
    name: line.name || info.name,
    pargs: line.pargs || info.pargs,
    domain: line.domain || info.domain,
    referer: line.referer || info.pageUrl,
    userAgent: line.userAgent || info.flashVer,
  }
}

/**
 * The target of an on_pull / on_push redirect (§3.4): rtmp:// → RTMP, any other scheme → HTTP;
 * the first path segment is the app, the rest the name; missing parts and a missing query keep
 * the session's; the Domain header names the domain. Null when the Location cannot be used.
 */
export function locationTarget(location: string, domainHeader: string | null, info: PlayInfo): RelayTarget | null {
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

/** The RTMP client of one attempt (§2.3 step 3, §5.2 step 2): the session's fields, the target's overrides. */
function rtmpClientOptions(
  action: 'play' | 'publish',
  t: RelayTarget,
  address: string,
  info: PlayInfo,
  app: AppConf,
  server: RtmpServerConf,
  connectTimeoutMs: number,
  chunkSize: number,
): RtmpClientOptions {
  return {
    action,
    host: address,
    port: t.port,
    app: info.args === '' ? t.app : `${t.app}?${info.args}`,
    tcUrl: `rtmp://${t.domain}/${t.app}`,
    pageUrl: t.referer,
    swfUrl: info.swfUrl,
    flashVer: t.userAgent,
    audioCodecs: info.audioCodecs || DEFAULT_AUDIO_CODECS,
    videoCodecs: info.videoCodecs || DEFAULT_VIDEO_CODECS,
    streamName: t.pargs === '' ? t.name : `${t.name}?${t.pargs}`,
    relayBufferMs: app.relayBufferMs,
    chunkSize,
    ackWindow: server.ackWindow,
    maxMessageBytes: server.maxMessageBytes,
    connectTimeoutMs,
    readTimeoutMs: server.timeoutMs,
  }
}

/** Where a leg is. One timer serves the state: the attempt's deadline, or the back-off wait. */
enum LegState {
  /** constructed, begin() not called */
  IDLE = 'idle',
  /** on_pull / on_push start asked, no answer yet (deadline armed) */
  ASKING = 'asking',
  /** resolving and connecting, until Play.Start / HTTP 200 / Publish.Start (deadline armed) */
  CONNECTING = 'connecting',
  /** relaying media (no timer: a pull's client bounds its reads, a push is bounded as a player) */
  RELAYING = 'relaying',
  /** between attempts (back-off timer armed, or none while the next one starts) */
  WAITING = 'waiting',
  STOPPED = 'stopped',
}

export abstract class RelayLeg implements RelayLegGauge {
  /** increments per attempt; late callbacks of an old attempt are ignored */
  protected attempt = 0
  protected state = LegState.IDLE
  /** when the current attempt began (performance.now()) */
  protected attemptStartedAt = 0
  /** why the current attempt is failing, when the first sign of it came before its end */
  private attemptFailure: RelayFailure | null = null
  private failure: RelayFailure | null = null
  /** the attempt carried media: with relayingSince, what makes its end a reason to retry at once (docs/compat.md) */
  private attemptGotMedia = false
  /** when the attempt started relaying (ms since the epoch) */
  private relayingSince = 0
  private urlIndex = 0
  private backoffMs: number
  /** the one timer: the attempt's deadline (ASKING, CONNECTING) or the back-off wait (WAITING) */
  private timer: NodeJS.Timeout | null = null
  /** when the current attempt's deadline falls due (ms since the epoch) */
  private deadlineAt = 0
  private stopUpdates: (() => void) | null = null
  /** the attempt whose act=done went out (one per attempt) */
  private doneSentFor = 0

  constructor(
    protected readonly ctx: RelayContext,
    protected readonly app: AppConf,
    protected readonly server: RtmpServerConf,
    /** 'pull' or 'push': the notify `call` and the log lines' word */
    readonly kind: 'pull' | 'push',
    /** the on_pull / on_push line asked at each attempt; null for a static line or a fixed target */
    private readonly notifyConf: NotifyConf | null,
    /** the leg's notify variables: clientid 0, the session's fields, evaluated once (§3.3, §6.3) */
    protected readonly subject: NotifySubject,
    protected readonly logCtx: LogContext,
  ) {
    this.backoffMs = app.failedReconnectMs
  }

  /** how many URLs an attempt can try before backing off (a static line's; else 1) */
  protected abstract urlCount(): number
  /** the target of attempt turn `urlIndex` when no notify line names one */
  protected abstract fixedTarget(urlIndex: number): RelayTarget
  /** the session the leg copies its fields from (§2.2, §5.2) */
  protected abstract readonly info: PlayInfo
  /** connect attempt `id` to `target` (resolved to `address`) */
  protected abstract open(target: RelayTarget, address: string, id: number): void
  /** the notify line answered ≥ 400: the sessions it serves are refused */
  protected abstract refusedByNotify(status: number): void
  /** the remote answered play / publish with an error status of RELAY_ERROR_STATUS (§2.3 step 7, §5.2 step 6) */
  protected abstract refusedByRemote(failure: PlayFailure): void
  /** the notify line's answer means "nothing to relay" (§3.4: on_pull, 200 only) */
  protected nothingToRelay(status: number): boolean {
    return status === 200
  }

  /** the leg can speak to a target of that scheme */
  protected canRelay(target: RelayTarget): boolean {
    return target.scheme === 'rtmp' || target.scheme === 'http'
  }

  /** the attempt started relaying (a push leg joins the stream's players here) */
  protected relaying(): void {}
  /** the attempt ended: close its client and undo what it did to the stream (`relayed`: it had started) */
  protected abstract dropAttempt(relayed: boolean): void
  /** the leg still has a reason to live (pull: a player; push: a publisher) */
  protected abstract wanted(): boolean
  /** stop for good: close the client, leave the stream */
  protected abstract teardown(reason: string): void

  get stopped(): boolean {
    return this.state === LegState.STOPPED
  }

  get legState(): string {
    return this.state
  }

  get lastFailure(): RelayFailure | null {
    return this.failure
  }

  /** The attempt is failing (the remote refused): its end is counted as that, whatever ends it. */
  protected failed(why: RelayFailure): void {
    this.attemptFailure ??= why
  }

  /** `id` is the attempt in progress (asking, connecting or relaying) */
  private current(id: number): boolean {
    return id === this.attempt && (this.state === LegState.ASKING || this.state === LegState.CONNECTING || this.state === LegState.RELAYING)
  }

  private arm(ms: number, fn: () => void): void {
    this.disarm()
    this.timer = setTimeout(() => {
      this.timer = null
      fn()
    }, ms)
  }

  private disarm(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }

  protected begin(): void {
    const id = ++this.attempt
    this.ctx.metrics.relayLegs.add(this)
    this.attemptStartedAt = performance.now()
    this.attemptFailure = null
    this.attemptGotMedia = false
    this.deadlineAt = Date.now() + this.app.relayReconnectMs
    this.arm(this.app.relayReconnectMs, () => this.onDeadline(id))
    if (this.notifyConf !== null) {
      this.state = LegState.ASKING
      this.ask(this.notifyConf, id)
    } else {
      this.state = LegState.CONNECTING
      this.connect(this.fixedTarget(this.urlIndex), id)
    }
  }

  // ---- on_pull / on_push ---------------------------------------------------------------------

  private notifyRequest(conf: NotifyConf, act: NotifyAct): Promise<NotifyResponse> {
    return this.ctx.notify.ask(conf, this.kind, act, this.subject)
  }

  private ask(conf: NotifyConf, id: number): void {
    const what = `on_${this.kind}`
    this.ctx.log.info(`${what}: asking ${conf.url}`, this.logCtx)
    void this.notifyRequest(conf, 'start').then((res) => {
      if (!this.current(id)) return
      if (res.status === -1) {
        // timeout= equal to relay_reconnect (both 3 s by default): PingOS's deadline wins and the
        // next ask is immediate (observed §7.2); which timer Node fires first must not decide it
        const byDeadline = Date.now() >= this.deadlineAt
        this.attemptEnded(id, byDeadline, byDeadline ? 'timeout' : 'notify_failed')
      } else if (res.status >= 400) {
        this.ctx.metrics.relayFailures[this.kind].notify_refused++
        this.sendDone()
        this.refusedByNotify(res.status)
        this.stop(`${what} answered ${res.status}`)
      } else if (this.nothingToRelay(res.status)) {
        // give up until a new session asks again
        this.ctx.log.info(`${what}: 200, nothing to ${this.kind}`, this.logCtx)
        this.sendDone()
        this.stop(`${what} answered 200`)
      } else {
        const target = res.location === null ? null : locationTarget(res.location, res.domain, this.info)
        if (target === null || !this.canRelay(target)) {
          this.ctx.log.error(`${what}: ${res.status} without a usable Location (${res.location ?? 'none'})`, this.logCtx)
          this.attemptEnded(id, false, 'notify_failed')
          return
        }
        this.ctx.log.info(`${what}: ${res.status} → ${res.location}`, this.logCtx)
        if (conf.stages.update && this.stopUpdates === null) this.stopUpdates = this.ctx.notify.updates(conf, this.kind, this.subject)
        this.state = LegState.CONNECTING
        this.connect(target, id)
      }
    })
  }

  /** act=done after every attempt, fire and forget (§3.5, §5.3) */
  private sendDone(): void {
    const conf = this.notifyConf
    if (conf === null || !conf.stages.done || this.doneSentFor === this.attempt) return
    this.doneSentFor = this.attempt
    void this.notifyRequest(conf, 'done')
  }

  // ---- the remote end ------------------------------------------------------------------------

  private connect(t: RelayTarget, id: number): void {
    this.ctx.log.info(`${this.kind}: ${t.scheme}://${t.host}:${t.port} app='${t.app}' name='${t.name}' args='${t.pargs}' domain='${t.domain}'`, this.logCtx)
    this.ctx.resolver.resolve(t.host).then((address) => {
      if (this.current(id)) this.open(t, address, id)
    }, (err: unknown) => {
      if (!this.current(id)) return
      this.ctx.log.error(`${this.kind}: ${resolveFailure(t.host, err)}`, this.logCtx)
      this.attemptEnded(id, false, 'connect_error')
    })
  }

  /** The attempt reached Play.Start / HTTP 200 / Publish.Start: no deadline any more. */
  protected started(id: number): void {
    if (!this.current(id) || this.state === LegState.RELAYING) return
    this.state = LegState.RELAYING
    this.failure = null
    this.relayingSince = Date.now()
    this.disarm()
    this.ctx.log.info(`${this.kind}: publishing`, this.logCtx)
    this.relaying()
  }

  /**
   * The RTMP client of attempt `id`: it plays from an origin (pull) or publishes to a target
   * (push). `chunkSize` is the Set Chunk Size it announces and writes with.
   */
  protected rtmpClient(t: RelayTarget, address: string, id: number, chunkSize: number, onMedia: (msg: MediaMessage) => void): RtmpClientSession {
    const action = this.kind === 'pull' ? 'play' : 'publish'
    return new RtmpClientSession(rtmpClientOptions(action, t, address, this.info, this.app, this.server, this.ctx.connectTimeoutMs, chunkSize), {
      onSocket: (socket) => this.ctx.countBytes(socket),
      onStarted: () => this.started(id),
      onMedia,
      onStatus: (s) => {
        if (id !== this.attempt || s.level !== 'error') return
        const httpStatus = RELAY_ERROR_STATUS[s.code]
        if (httpStatus === undefined) return
        this.ctx.log.info(`${this.kind}: ${this.kind === 'pull' ? 'origin' : 'target'} answered ${s.code} "${s.description}"`, this.logCtx)
        this.failed('remote_refused')
        this.refusedByRemote({ ...s, httpStatus })
      },
      onClose: (reason) => this.clientClosed(id, reason),
    })
  }

  /** Media went through the attempt (what a retry at once after its end asks for, with its length). */
  protected carriedMedia(): void {
    this.attemptGotMedia = true
  }

  /** The attempt's client closed (the remote's close, an error, our own close). */
  protected clientClosed(id: number, reason: string): void {
    if (!this.current(id)) return
    this.ctx.log.info(`${this.kind}: closed: ${reason}`, this.logCtx)
    this.attemptEnded(id, false, this.state === LegState.RELAYING ? 'closed' : 'connect_error')
  }

  private onDeadline(id: number): void {
    if (!this.current(id)) return
    this.ctx.log.info(`${this.kind}: relay timeout`, this.logCtx)
    this.attemptEnded(id, true, 'timeout')
  }

  // ---- retries (§2.5) ------------------------------------------------------------------------

  /** rtmp_control dropped the relaying connection (§9.2, scenario 34): a new attempt starts at once. */
  reconnect(): void {
    if (this.state !== LegState.RELAYING) return
    this.ctx.log.info(`${this.kind}: dropped by rtmp_control`, this.logCtx)
    this.attemptEnded(this.attempt, false, null, true)
  }

  /** The leg's member of the stream while it relays (§9.1: a connecting leg is not listed). */
  protected relayMember(): Member {
    return member(0, this.info, 'rtmp', true, () => this.reconnect())
  }

  /** `why`: the failure it counts as, unless an earlier sign named one (null: not a failure) */
  private attemptEnded(id: number, byDeadline: boolean, why: RelayFailure | null, retryAtOnce = false): void {
    if (!this.current(id)) return
    const relayed = this.state === LegState.RELAYING
    const failure = this.attemptFailure ?? why
    if (failure !== null) {
      this.ctx.metrics.relayFailures[this.kind][failure]++
      this.failure = failure
    }
    // WAITING first: closing the client re-enters here, and must find the attempt over
    this.state = LegState.WAITING
    this.disarm()
    this.sendDone()
    this.dropAttempt(relayed)
    // PingOS retries at once after any attempt that reached "publishing"; a remote that answers
    // and then fails at once (or right after a cached burst) would be hammered, so edge asks for
    // media that flowed for at least the current back-off.
    const succeeded = retryAtOnce || (relayed && this.attemptGotMedia && Date.now() - this.relayingSince >= this.backoffMs)
    if (this.stopped || !this.wanted()) {
      this.stop(this.kind === 'pull' ? 'no players left' : 'no publisher left')
      return
    }
    const urls = this.notifyConf === null ? this.urlCount() : 1
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
      this.ctx.log.info(`${this.kind}: retry in ${wait} ms`, this.logCtx)
      this.arm(wait, () => this.begin())
    }
  }

  /** Stop for good: nothing left to relay for, the notify line said no, or the stream ended. */
  stop(reason: string): void {
    if (this.stopped) return
    // an attempt in flight ends now: its act=done goes out (a back-off wait already sent it)
    const inFlight = this.state !== LegState.WAITING
    this.state = LegState.STOPPED
    this.ctx.metrics.relayLegs.delete(this)
    this.disarm()
    this.stopUpdates?.()
    this.stopUpdates = null
    this.ctx.log.info(`${this.kind}: stopped: ${reason}`, this.logCtx)
    this.teardown(reason)
    if (inFlight) this.sendDone()
  }
}
