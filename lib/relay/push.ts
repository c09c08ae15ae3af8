// Push relays (PingOS ngx_live_relay_simple push, ngx_rtmp_notify on_push; pingos-behaviour.md §5,
// observed §14). A push leg is a player whose sink is a remote server (DESIGN.md).
//
//   the first publisher of a stream joins (after on_publish)
//        │  one leg per `on_push` line, then one per `push` line, all at once
//        ▼  attempt (deadline relay_reconnect from its start)
//   on_push? ── GET call=push&act=start ──► 3xx Location → target   200 → no push for this line
//        │                                  ≥ 400 → publishers refused   no answer → next attempt
//        ▼
//   RtmpClientSession: connect, createStream, publish(name, "live")
//        │ Publish.Start → the leg joins the stream as a player: StreamBegin, metadata, headers,
//        │ the cached GOP, then live frames (the same chunk Buffers every RTMP player gets)
//        │ an error status from the target → the local publishers get it and are disconnected
//        ▼
//   attempt ends (target closed, error, deadline, too slow) while a publisher remains → next
//   attempt, with the pull's back-off (§2.5); the last publisher leaves → every leg stops at once
import type { AppConf, NotifyConf, RelayConf, RtmpServerConf } from '../conf/tree.js'
import type { Frame, OutputFormat } from '../live/frame.js'
import type { LiveStream } from '../live/stream.js'
import type { Player, Sink } from '../live/player.js'
import { MSG_DATA_AMF0 } from '../media/message.js'
import { NotifySubject } from '../notify/events.js'
import type { RtmpClientSession } from '../rtmp/client-session.js'
import { forbidden, type PlayFailure, type PlayInfo, type Stage, type StageRequest } from '../stages.js'
import { RelayLeg, staticTarget, type RelayContext, type RelayTarget } from './leg.js'

/** Where a leg's attempts go: a `push` line, an `on_push` line, or a target named once (on_meta). */
export type PushSource =
  | { readonly kind: 'line', readonly line: RelayConf }
  | { readonly kind: 'notify', readonly conf: NotifyConf }
  | { readonly kind: 'target', readonly target: RelayTarget }

/**
 * relay.push (§5.1): the first publisher of a stream starts one leg per `on_push` line and one
 * per `push` line. A later publisher of the same stream (pubpri), and a stream whose first
 * publisher is a pull leg, start none (observed §14.3: a pulled stream is not pushed).
 */
export function pushStage(ctx: () => RelayContext): Stage<StageRequest<LiveStream>> {
  return (req) => {
    const stream = req.stream as LiveStream
    if (req.publisher === null || stream.publisherCount !== 1) return null
    for (const conf of req.app.notify.push) startPush(ctx(), stream, req.app, req.server, req.info, { kind: 'notify', conf })
    for (const line of req.app.pushes) {
      // an http:// URL on a push line names nothing to publish to (PingOS would send it a GET)
      const urls = line.urls.filter((u) => u.scheme === 'rtmp')
      if (urls.length > 0) startPush(ctx(), stream, req.app, req.server, req.info, { kind: 'line', line: { ...line, urls } })
      else ctx().log.warn(`push: ${line.where.file}:${line.where.line} has no rtmp:// URL, nothing pushed`, { session: req.info.clientId, app: req.info.app, name: req.info.name })
    }
    return null
  }
}

/**
 * One push leg of `stream`, copying the publisher's fields `info`; it lives while the stream has
 * a publisher, or until the returned function stops it.
 */
export function startPush(ctx: RelayContext, stream: LiveStream, app: AppConf, server: RtmpServerConf, info: PlayInfo, source: PushSource): () => void {
  const leg = new PushLeg(ctx, stream, app, server, info, source)
  leg.start()
  return () => leg.stop('publisher left')
}

/** A track's timestamps going back more than this on one push connection are a new clock. */
const CLOCK_STEP_BACK_MS = 1000

class PushLeg extends RelayLeg implements Sink {
  readonly format: OutputFormat = 'rtmp'
  private client: RtmpClientSession | null = null
  /** in the stream's fan-out once the target accepted the publish */
  private player: Player | null = null
  private unlisten: (() => void) | null = null
  /** timestamps on this connection never go back: the last one sent per track, and the shift applied */
  private lastAudio = -1
  private lastVideo = -1
  private shift = 0
  /** the stream's publisher changed: the next audio or video frame sets the shift */
  private rebase = false

  constructor(
    ctx: RelayContext,
    private readonly stream: LiveStream,
    app: AppConf,
    server: RtmpServerConf,
    /** the publisher's fields, copied (§5.2) */
    protected readonly info: PlayInfo,
    private readonly source: PushSource,
  ) {
    const logCtx = { session: 0, app: info.app, name: info.name }
    const conf = source.kind === 'notify' ? source.conf : null
    const subject = new NotifySubject(info, { clientId: 0, groupId: conf?.groupId ?? null, leg: true, logCtx })
    super(ctx, app, server, 'push', conf, subject, logCtx)
  }

  start(): void {
    this.unlisten = this.stream.on('publishersEmpty', () => this.stop('publisher left'))
    this.begin()
  }

  protected urlCount(): number {
    return this.source.kind === 'line' ? this.source.line.urls.length : 1
  }

  /** (an on_push leg's targets come from its answers: the base never asks it for one) */
  protected fixedTarget(urlIndex: number): RelayTarget {
    const s = this.source
    if (s.kind === 'line') return staticTarget(s.line, urlIndex, this.info)
    if (s.kind === 'target') return s.target
    throw new Error('an on_push leg has no fixed target')
  }

  protected open(t: RelayTarget, address: string, id: number): void {
    // the chunk size the stream's frames are encoded at (the stream's first request's server)
    this.client = this.rtmpClient(t, address, id, this.stream.opts.chunkSize, () => {})
    this.client.start()
  }

  /** Publish.Start: from now on the leg is fed like a player (§5.1), cached burst first. */
  protected relaying(): void {
    if (this.stream.isEnded) {
      this.stop('stream ended')
      return
    }
    this.lastAudio = this.lastVideo = -1
    this.shift = 0
    this.rebase = false
    this.player = this.stream.addPlayer(this, this.relayMember())
    this.stream.startPlayer(this.player)
  }

  /** on_push: any 2xx means no push for this line (contract, item 7) */
  protected nothingToRelay(status: number): boolean {
    return status >= 200 && status < 300
  }

  /** a push speaks RTMP only (§5.2) */
  protected canRelay(target: RelayTarget): boolean {
    return target.scheme === 'rtmp'
  }

  protected refusedByNotify(): void {
    this.stream.refusePublishers(forbidden(403))
  }

  /** §5.2 step 6: the target refuses the stream: so are the local publishers (scenario 35). */
  protected refusedByRemote(failure: PlayFailure): void {
    this.stream.refusePublishers(failure)
  }

  protected wanted(): boolean {
    return this.stream.hasPublisher && !this.stream.isEnded
  }

  protected dropAttempt(): void {
    this.leave()
    const client = this.client
    this.client = null
    client?.close('attempt ended')
  }

  protected teardown(reason: string): void {
    this.unlisten?.()
    this.unlisten = null
    this.leave()
    const client = this.client
    this.client = null
    client?.close(reason)
  }

  private leave(): void {
    if (this.player !== null) this.stream.removePlayer(this.player)
    this.player = null
  }

  // ---- the stream's sink ---------------------------------------------------------------------

  get queuedBytes(): number {
    return this.client?.queuedBytes ?? 0
  }

  writeFrame(frame: Frame): void {
    const client = this.client
    if (client === null) return
    if (frame.msg.typeId === MSG_DATA_AMF0) {
      client.send(frame.rtmp)
      return
    }
    this.carriedMedia()
    const video = frame.isVideo
    const lastTrack = video ? this.lastVideo : this.lastAudio
    const last = Math.max(this.lastAudio, this.lastVideo)
    let ts: number
    if (this.rebase && frame.sequenceHeader) {
      // the new clock's header (stamped by its publisher long ago, maybe): at the connection's time
      ts = Math.max(0, last)
    } else {
      // a new clock (another publisher, or this one's going back: an encoder reset, the 32-bit
      // wrap): continue where the connection is; a small step back of one track is held instead
      if (this.rebase || frame.timestamp + this.shift < lastTrack - CLOCK_STEP_BACK_MS) {
        this.rebase = false
        this.shift = Math.max(0, last - frame.timestamp)
      }
      ts = Math.max(frame.timestamp + this.shift, lastTrack)
    }
    if (video) this.lastVideo = ts
    else this.lastAudio = ts
    client.send(frame.rtmpAt(ts))
  }

  streamBegin(): void {
    this.client?.sendStreamBegin()
  }

  /** The stream's publisher stopped or changed: the target keeps its publish; timestamps go on. */
  streamEof(): void {
    this.rebase = true
  }

  /**
   * The stream gives up on the leg: the target does not keep up (the attempt ends, the next one
   * follows), or the stream has no publisher left (idle_streams off, a reload): the leg stops.
   */
  close(reason: string): void {
    if (this.wanted()) this.clientClosed(this.attempt, reason)
    else this.stop(reason)
  }

  fail(failure: PlayFailure): void {
    this.close(`${failure.code} "${failure.description}"`)
  }
}
