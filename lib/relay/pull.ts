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
import type { AppConf, RelayConf, RtmpServerConf } from '../conf/tree.js'
import { FlvClient } from '../flv/client.js'
import type { LiveStream } from '../live/stream.js'
import type { Member, PublisherHandle } from '../live/publisher.js'
import { inspectVideo } from '../media/codec.js'
import { MSG_AUDIO, MSG_VIDEO, type MediaMessage } from '../media/message.js'
import { NotifySubject } from '../notify/events.js'
import type { RtmpClientSession } from '../rtmp/client-session.js'
import type { PlayFailure, PlayInfo, Stage, StageRequest } from '../stages.js'
import { RelayLeg, staticTarget, type RelayContext, type RelayTarget } from './leg.js'

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


export class PullLeg extends RelayLeg implements PublisherHandle {
  readonly priority = -1
  private client: RtmpClientSession | FlvClient | null = null
  /** stops listening for the stream's last player */
  private unlisten: (() => void) | null = null
  /** the attempt whose first video keyframe was timed (edge_pull_first_keyframe_seconds) */
  private keyframeTimedFor = 0

  constructor(
    ctx: RelayContext,
    private readonly stream: LiveStream,
    app: AppConf,
    server: RtmpServerConf,
    /** the triggering player's fields, copied (§2.2) */
    protected readonly info: PlayInfo,
  ) {
    const logCtx = { session: 0, app: info.app, name: info.name }
    const subject = new NotifySubject(info, { clientId: 0, groupId: app.notify.pull?.groupId ?? null, leg: true, logCtx })
    super(ctx, app, server, 'pull', app.notify.pull, subject, logCtx)
  }

  start(): void {
    this.stream.addPublisher(this)
    this.unlisten = this.stream.on('playersEmpty', () => this.stop('last player left'))
    this.begin()
  }

  protected urlCount(): number {
    return (this.app.pull as RelayConf).urls.length
  }

  protected fixedTarget(urlIndex: number): RelayTarget {
    return staticTarget(this.app.pull as RelayConf, urlIndex, this.info)
  }

  protected open(t: RelayTarget, address: string, id: number): void {
    this.client = t.scheme === 'rtmp' ? this.rtmpClient(t, address, id, this.server.chunkSize, (msg) => this.media(id, msg)) : this.flvClient(t, address, id)
    this.client.start()
  }

  protected refusedByNotify(): void {
    this.stream.failPlayers(NOTIFY_REFUSED)
  }

  protected refusedByRemote(failure: PlayFailure): void {
    this.stream.failPlayers(failure)
  }

  protected wanted(): boolean {
    return this.stream.hasPlayers
  }

  private flvClient(t: RelayTarget, address: string, id: number): FlvClient {
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
      onSocket: (socket) => this.ctx.countBytes(socket),
      onResponse: (status) => {
        if (id !== this.attempt) return
        if (status === 200) {
          this.started(id)
          return
        }
        this.ctx.log.info(`pull: http origin answered ${status}`, this.logCtx)
        this.failed('remote_refused')
        this.stream.failPlayers(httpOriginFailure(status))
      },
      onMedia: (msg) => this.media(id, msg),
      onClose: (reason) => this.clientClosed(id, reason),
    })
  }

  private media(id: number, msg: MediaMessage): void {
    if (id !== this.attempt || this.stopped) return
    this.carriedMedia()
    if (msg.typeId === MSG_VIDEO && this.keyframeTimedFor !== id) this.timeKeyframe(id, msg)
    if (msg.typeId === MSG_AUDIO || msg.typeId === MSG_VIDEO) this.stream.publish(this, msg)
    else {
      const refused = this.stream.publishData(this, msg)
      if (refused !== null) this.ctx.log.warn(`pull: ${refused}`, this.logCtx)
    }
  }

  /** The attempt's first video keyframe (not a sequence header): how long from its start. */
  private timeKeyframe(id: number, msg: MediaMessage): void {
    const v = inspectVideo(msg.payload, this.server.hevcCodecId)
    if (v === null || !v.keyframe || v.sequenceHeader) return
    this.keyframeTimedFor = id
    this.ctx.metrics.pullFirstKeyframe.observe((performance.now() - this.attemptStartedAt) / 1000)
  }

  /** what rtmp_stat lists of the leg: nothing until it relays (§9.1) */
  member: Member | undefined = undefined

  protected relaying(): void {
    this.member = this.relayMember()
  }

  protected dropAttempt(relayed: boolean): void {
    this.member = undefined
    const client = this.client
    this.client = null
    client?.close('attempt ended')
    if (relayed) this.stream.endMedia(this)
  }

  /** The stream ends under the leg (its application is gone after a reload). */
  close(reason: string): void {
    this.stop(reason)
  }

  protected teardown(reason: string): void {
    this.unlisten?.()
    this.unlisten = null
    const client = this.client
    this.client = null
    client?.close(reason)
    this.stream.removePublisher(this)
    // the leg leaves last: on_stream done (from the leg), then on_pull done (§3.5, observed §13.2)
    this.ctx.release(this.stream, this.subject)
  }
}
