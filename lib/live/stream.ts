// One live stream: a publisher slot (priorities, §7.2), its metadata and sequence headers,
// the GOP cache, and the players. The stream does not know which protocol a player speaks:
// it hands each sink a Frame, and the sink writes that frame's encoding for its format.
//
//   publisher ──► publish(msg) ──► Frame (classified once) ──► GOP cache
//                                      │
//                                      └──► for each player: metadata? headers? drop? ──► sink.writeFrame(frame)
//                                                                                      (frame.rtmp / frame.flv,
//                                                                                       encoded once, shared)
import type { AmfObject } from '../amf/value.js'
import type { NodeMetrics } from '../core/node-metrics.js'
import type { MediaMessage } from '../media/message.js'
import type { PlayFailure, StreamEventMap, StreamView, Subject } from '../stages.js'
import { StreamEvents } from './events.js'
import { Player, PLAYER_HARD_BYTES, PLAYER_SOFT_BYTES, type Sink } from './player.js'
import type { Member, MemberView, PublisherHandle, PublisherState } from './publisher.js'
import type { LiveOptions } from './options.js'
import { Traffic } from './traffic.js'
import { Frame } from './frame.js'
import { GopCache } from './gop-cache.js'
import { readMetadata, rebuildMetadata } from './metadata.js'

export type { LiveOptions } from './options.js'

export class LiveStream implements StreamView {
  readonly players: Player[] = []
  /** players that are not passive (recorders are): what keeps a pull going */
  private activePlayers = 0
  private readonly publishers: PublisherState[] = []
  private activePublisher: PublisherHandle | null = null
  /** the active publisher's state (its metadata and headers) */
  private current: PublisherState | null = null
  private metaVersion = 0
  private readonly cache: GopCache | null
  /** the active publisher has sent audio or video */
  private mediaStarted = false
  readonly createdAt = Date.now()
  readonly traffic = new Traffic()
  /**
   * Plays and publishes that entered the stream's pipeline, from live.enter to their close
   * (waiting for a callout, playing, paused, publishing): they keep the stream, and end() closes
   * them. Each is known by the function that closes its client.
   */
  private readonly holders = new Set<(reason: string) => void>()
  private playHolds = 0
  /** paused players: out of the fan-out, still the stream's (failPlayers reaches them, rtmp_stat lists them) */
  private readonly paused = new Map<Sink, Member | null>()
  /** end() was called: nobody joins any more */
  private ending = false
  /** the hub forgot it: ended() ran */
  private gone = false
  private readonly events = new StreamEvents<StreamEventMap>()
  /** a playersEmpty check is queued for the end of the current job */
  private emptyCheckQueued = false
  /** timestamps of the last audio and video frames sent out (for re-stamped headers) */
  private lastAudioTs = -1
  private lastVideoTs = -1
  /** the last header re-stamped per track, shared by the players starting together */
  private restampedAudio: Frame | null = null
  private restampedVideo: Frame | null = null

  constructor(
    readonly key: string,
    readonly opts: LiveOptions,
    private readonly metrics: NodeMetrics,
    /** the application and stream name of its key, as the clients named them */
    readonly app = '',
    readonly name = key,
  ) {
    this.cache = opts.cacheTimeMs > 0 ? new GopCache(opts.cacheTimeMs, opts.outQueue) : null
  }

  get hasPublisher(): boolean {
    return this.publishers.length > 0
  }

  /** publishers joined, pull legs included (only the first starts the pushes, §5.1) */
  get publisherCount(): number {
    return this.publishers.length
  }

  get isEmpty(): boolean {
    return this.players.length === 0 && this.publishers.length === 0 && this.holders.size === 0
  }

  /** A player plays it or waits to (in a pipeline, or paused): what a pull leg lives for. */
  get hasPlayers(): boolean {
    return this.activePlayers > 0 || this.playHolds > 0
  }

  /** end() was called (its application is gone): nobody may join. */
  get isEnded(): boolean {
    return this.ending
  }

  on<E extends keyof StreamEventMap>(event: E, fn: (...args: StreamEventMap[E]) => void): () => void {
    return this.events.on(event, fn)
  }

  /**
   * A play or publish enters the stream's pipeline: the stream lives while it waits; `close`
   * (one function per request) ends its client if the stream ends. The returned function lets
   * go (once).
   */
  hold(action: 'play' | 'publish', close: (reason: string) => void): () => void {
    this.holders.add(close)
    if (action === 'play') this.playHolds++
    return () => {
      if (!this.holders.delete(close)) return
      if (action === 'play') {
        this.playHolds--
        this.checkPlayersEmpty()
      }
    }
  }

  // A player leaving and another arriving in the same job (play2, a reconnecting player) is
  // not "empty"; and the leaver's own done stages go first (§13.2: play done, then pull done).
  private checkPlayersEmpty(): void {
    if (this.hasPlayers || this.emptyCheckQueued) return
    this.emptyCheckQueued = true
    queueMicrotask(() => {
      this.emptyCheckQueued = false
      if (!this.hasPlayers && !this.gone) this.events.emit('playersEmpty')
    })
  }

  /** The hub forgot the stream; `by` left it last (on_stream done, §4.4). */
  ended(by: Subject | null): void {
    if (this.gone) return
    this.gone = true
    this.events.emit('ended', by)
    this.events.clear()
  }

  /** Media has arrived from the current publisher (what StreamBegin announces). */
  get isActive(): boolean {
    return this.mediaStarted
  }

  isPublishing(p: PublisherHandle): boolean {
    return this.activePublisher === p
  }

  /** Join as publisher; false when one of the same priority exists (NetStream.Publish.BadName). */
  addPublisher(p: PublisherHandle): boolean {
    if (this.publishers.some((x) => x.handle.priority === p.priority)) return false
    this.publishers.push({ handle: p, metadata: null, metadataValues: null, audioHeader: null, videoHeader: null, paused: false, awaitKey: false })
    this.electPublisher()
    return true
  }

  /**
   * End the stream: every publisher and player is closed (and leaves as it closes), those
   * waiting in a pipeline or paused too; nobody joins it any more.
   */
  end(reason: string): void {
    this.ending = true
    for (const close of [...this.holders]) close(reason)
    for (const p of [...this.publishers]) p.handle.close(reason)
    for (const pl of [...this.players]) {
      pl.closed = true
      pl.sink.close(reason)
    }
  }

  /** What `p` sent that a stream it moves to needs first (rtmp_control redirect): metadata, then its headers. */
  headersOf(p: PublisherHandle): MediaMessage[] {
    const st = this.publishers.find((x) => x.handle === p)
    return st === undefined ? [] : [st.metadata, st.audioHeader, st.videoHeader].flatMap((f) => (f === null ? [] : [f.msg]))
  }

  /** The onMetaData values publisher `p` last sent, or null. */
  metadataOf(p: PublisherHandle): AmfObject | null {
    return this.publishers.find((x) => x.handle === p)?.metadataValues ?? null
  }

  removePublisher(p: PublisherHandle): void {
    const i = this.publishers.findIndex((x) => x.handle === p)
    if (i === -1) return
    this.publishers.splice(i, 1)
    this.electPublisher()
    if (this.publishers.length === 0) this.events.emit('publishersEmpty')
  }

  /** A push target refused the stream (§5.2): every publisher that can be told is refused. */
  refusePublishers(failure: PlayFailure): void {
    for (const p of [...this.publishers]) p.handle.refuse?.(failure)
  }

  /** The members of its publishers and players, for rtmp_stat and rtmp_control (§9). */
  * members(): Generator<MemberView> {
    for (const p of this.publishers) if (p.handle.member !== undefined) yield { member: p.handle.member, publishing: true, dropped: 0, paused: false }
    for (const pl of this.players) if (pl.member !== null) yield { member: pl.member, publishing: false, dropped: pl.dropped, paused: false }
    for (const m of this.paused.values()) if (m !== null) yield { member: m, publishing: false, dropped: 0, paused: true }
  }

  /** rtmp_control pause / resume (§9.2): only a publisher's flag has an effect; false if `m` is none. */
  pausePublisher(m: Member, paused: boolean): boolean {
    const state = this.publishers.find((p) => p.handle.member === m)
    if (state === undefined) return false
    if (state.paused && !paused) state.awaitKey = true
    state.paused = paused
    return true
  }

  /** What rtmp_stat's <meta>, <avsync> and <timestamp> are made of. */
  get codecState(): { metadata: AmfObject | null, audioHeader: Buffer | null, videoHeader: Buffer | null, lastAudioTs: number, lastVideoTs: number } {
    const c = this.current
    return {
      metadata: c?.metadataValues ?? null,
      audioHeader: c?.audioHeader?.msg.payload ?? null,
      videoHeader: c?.videoHeader?.msg.payload ?? null,
      lastAudioTs: this.lastAudioTs,
      lastVideoTs: this.lastVideoTs,
    }
  }

  private get metadata(): Frame | null { return this.current?.metadata ?? null }
  private get audioHeader(): Frame | null { return this.current?.audioHeader ?? null }
  private get videoHeader(): Frame | null { return this.current?.videoHeader ?? null }

  // The highest priority publisher feeds the players; the earliest among equals (§7.2).
  private electPublisher(): void {
    let best: PublisherState | null = null
    for (const p of this.publishers) if (best === null || p.handle.priority > best.handle.priority) best = p
    if (best?.handle === this.activePublisher) return
    const hadMedia = this.mediaStarted
    this.activePublisher = best?.handle ?? null
    this.current = best
    this.resetMedia()
    if (this.current?.metadata != null) this.metaVersion++
    const closing = best === null && !this.opts.idleStreams
    for (let i = this.players.length - 1; i >= 0; i--) {
      const pl = this.players[i]
      if (hadMedia) pl.sink.streamEof()
      if (closing) {
        pl.closed = true
        pl.sink.close('publisher gone, idle_streams off')
      }
    }
  }

  private resetMedia(): void {
    this.mediaStarted = false
    this.lastAudioTs = this.lastVideoTs = -1
    this.cache?.clear()
    for (const pl of this.players) {
      pl.videoStarted = false
      pl.audioStarted = false
      pl.cursor = -1
      pl.dropping = false
    }
  }

  /**
   * A data message (onMetaData, @setDataFrame) from a publisher. Returns why it was refused
   * (for the caller's log line), or null.
   */
  publishData(p: PublisherHandle, msg: MediaMessage): string | null {
    if (p !== this.activePublisher || this.opts.meta === 'off') return null
    const meta = readMetadata(msg.payload)
    if (meta.kind === 'refused') return meta.reason
    if (meta.kind === 'other') return null
    const payload = this.opts.meta === 'copy' ? meta.body : rebuildMetadata(meta.values, this.opts.serverName)
    const state = this.current as PublisherState
    state.metadataValues = meta.values
    state.metadata = new Frame({ typeId: msg.typeId, timestamp: 0, payload }, this.opts.chunkSize, this.opts.hevcCodecId)
    this.metaVersion++
    return null
  }

  /** An audio or video message from a publisher. */
  publish(p: PublisherHandle, msg: MediaMessage): void {
    if (p !== this.activePublisher || msg.payload.length === 0) return
    const frame = new Frame(msg, this.opts.chunkSize, this.opts.hevcCodecId)
    const state = this.current as PublisherState
    if ((state.paused || state.awaitKey) && !this.passesPause(state, frame)) return
    this.traffic.bytesIn += msg.payload.length
    if (frame.isVideo) this.traffic.videoIn += msg.payload.length
    else if (frame.isAudio) this.traffic.audioIn += msg.payload.length
    if (!this.mediaStarted) {
      this.mediaStarted = true
      for (const pl of this.players) pl.sink.streamBegin()
    }
    if (frame.sequenceHeader) {
      if (frame.isVideo) state.videoHeader = frame
      else state.audioHeader = frame
      if (this.events.has('header')) this.events.emit('header', frame.isVideo ? 'video' : 'audio', p)
      // players already past their track start get the new header (codec change)
      for (let i = this.players.length - 1; i >= 0; i--) {
        const pl = this.players[i]
        if ((frame.isVideo ? pl.videoStarted : pl.audioStarted) && pl.cursor === -1) this.send(pl, frame)
      }
      return
    }
    // counted once per frame, not per player write: the fan-out loop stays as it was
    this.traffic.bytesOut += msg.payload.length * this.players.length
    // Backwards: a player removed during the loop swaps in the last one, already served.
    if (this.cache !== null) {
      this.cache.push(frame)
      for (let i = this.players.length - 1; i >= 0; i--) this.feedCached(this.players[i], frame)
    } else {
      for (let i = this.players.length - 1; i >= 0; i--) this.feedLive(this.players[i], frame)
    }
    if (frame.isVideo) this.lastVideoTs = frame.timestamp
    else if (frame.isAudio) this.lastAudioTs = frame.timestamp
  }

  // A paused publisher's media is not forwarded; resumed, it starts again at a keyframe (the
  // first audio frame when there is no video), headers always passing (§9.2).
  private passesPause(state: PublisherState, frame: Frame): boolean {
    if (frame.sequenceHeader) return true
    if (state.paused) return false
    if (!frame.keyframe && !(frame.isAudio && state.videoHeader === null)) return false
    state.awaitKey = false
    return true
  }

  /** Add a player: StreamBegin if media flows, then (GOP cache) the cached burst. */
  addPlayer(sink: Sink, member: Member | null = null): Player {
    const pl = new Player(sink, member)
    this.players.push(pl)
    if (sink.passive !== true) this.activePlayers++
    if (this.mediaStarted) sink.streamBegin()
    return pl
  }

  /** Called once the player's protocol has announced the play (RTMP: after Play.Start). */
  startPlayer(pl: Player): void {
    if (this.cache === null || this.cache.size === 0) return
    this.sendHeaders(pl)
    const head = this.cache.headSeq
    const end = this.cache.nextSeq
    const headTime = (this.cache.get(head) as Frame).timestamp
    let seq = head
    for (; seq < end; seq++) {
      const f = this.cache.get(seq) as Frame
      if (!this.opts.sendAll && ((f.timestamp - headTime) | 0) >= this.opts.cacheTimeMs) break
      this.send(pl, f)
    }
    pl.cursor = seq < end ? seq : -1
  }

  removePlayer(pl: Player): void {
    const i = this.players.indexOf(pl)
    if (i === -1) return
    this.players[i] = this.players[this.players.length - 1]
    this.players.pop()
    if (pl.sink.passive !== true && --this.activePlayers === 0) this.checkPlayersEmpty()
  }

  /**
   * The publisher's media ended but it stays the publisher (a pull leg reconnecting, §2.6):
   * players get StreamEOF, and StreamBegin again when media resumes; with idle_streams off
   * they are closed.
   */
  endMedia(p: PublisherHandle): void {
    if (p !== this.activePublisher || !this.mediaStarted) return
    for (let i = this.players.length - 1; i >= 0; i--) {
      const pl = this.players[i]
      pl.sink.streamEof()
      if (!this.opts.idleStreams) {
        pl.closed = true
        pl.sink.close('publisher gone, idle_streams off')
      }
    }
    this.resetMedia()
    if (this.current !== null) this.current.metadata = this.current.audioHeader = this.current.videoHeader = null
  }

  /** Every player is told the play failed and is closed (origin or on_pull refusal). */
  failPlayers(failure: PlayFailure): void {
    for (let i = this.players.length - 1; i >= 0; i--) {
      const pl = this.players[i]
      pl.closed = true
      pl.sink.fail(failure)
    }
    for (const sink of [...this.paused.keys()]) sink.fail(failure)
  }

  /** A player pauses: it leaves the fan-out, stays in the stream (§7.3) and is told if the play fails. */
  pausePlayer(pl: Player): void {
    this.removePlayer(pl)
    this.paused.set(pl.sink, pl.member)
  }

  /** A paused player resumes (null: the stream ended meanwhile), or leaves (`resume` false). */
  unpause(sink: Sink, resume: boolean, member: Member | null = null): Player | null {
    if (!this.paused.delete(sink) || !resume || this.ending) return null
    const pl = this.addPlayer(sink, member)
    this.startPlayer(pl)
    return pl
  }

  // §7.5: with the cache, players are fed from it; one owed frame per new frame while behind.
  private feedCached(pl: Player, frame: Frame): void {
    const cache = this.cache as GopCache
    if (pl.cursor === -1) {
      if (!pl.videoStarted && !pl.audioStarted) this.sendHeaders(pl)
      this.send(pl, frame)
      return
    }
    if (this.opts.lowLatency && frame.keyframe) {
      pl.cursor = -1
      this.send(pl, frame)
      return
    }
    if (pl.cursor < cache.headSeq) {
      // its position was trimmed away: back to the cache head, with the headers again
      pl.cursor = cache.headSeq
      this.sendHeaders(pl)
    }
    this.send(pl, cache.get(pl.cursor) as Frame)
    pl.cursor++
    if (pl.cursor >= cache.nextSeq) pl.cursor = -1
  }

  // §7.6: without the cache, each track starts at its sequence header; video at a keyframe
  // (wait_key), audio after video has started (wait_video).
  private feedLive(pl: Player, frame: Frame): void {
    if (frame.isVideo) {
      if (!pl.videoStarted) {
        if (this.opts.waitKey && !frame.keyframe) return
        pl.videoStarted = true
        if (this.videoHeader !== null) this.send(pl, this.restamped(this.videoHeader, this.lastVideoTs))
      }
    } else if (frame.isAudio) {
      if (!pl.audioStarted) {
        if (this.opts.waitVideo && !pl.videoStarted && this.videoHeader !== null) return
        pl.audioStarted = true
        if (this.audioHeader !== null) this.send(pl, this.restamped(this.audioHeader, this.lastAudioTs))
      }
    }
    this.send(pl, frame)
  }

  /**
   * §7.6: a track starts with the current sequence header carrying the track's preceding
   * timestamp (not the time the publisher first sent it). One copy per timestamp and track,
   * shared by every player that starts there.
   */
  private restamped(header: Frame, ts: number): Frame {
    if (ts < 0 || ts === header.timestamp) return header
    const cached = header.isVideo ? this.restampedVideo : this.restampedAudio
    if (cached !== null && cached.timestamp === ts && cached.msg.payload === header.msg.payload) return cached
    const f = new Frame({ typeId: header.msg.typeId, timestamp: ts, payload: header.msg.payload }, this.opts.chunkSize, this.opts.hevcCodecId)
    if (header.isVideo) this.restampedVideo = f
    else this.restampedAudio = f
    return f
  }

  /** Metadata, then the AAC header, then the video header (§7.5 join order). */
  private sendHeaders(pl: Player): void {
    if (this.metadata !== null) {
      pl.sink.writeFrame(this.metadata)
      pl.metaVersion = this.metaVersion
    }
    if (this.audioHeader !== null) this.send(pl, this.audioHeader)
    if (this.videoHeader !== null) this.send(pl, this.videoHeader)
    pl.audioStarted = true
    pl.videoStarted = true
  }

  // The only write path: metadata first when it changed; bounded output per player.
  private send(pl: Player, frame: Frame): void {
    if (pl.closed) return
    const queued = pl.sink.queuedBytes
    if (queued > PLAYER_HARD_BYTES) {
      pl.closed = true
      this.metrics.slowPlayersClosed.queue_limit++
      pl.sink.close(`slow player: ${queued} bytes unsent`)
      return
    }
    if (pl.dropping) {
      const canResume = frame.keyframe || (frame.isAudio && this.videoHeader === null)
      if (!canResume || queued > PLAYER_SOFT_BYTES / 2) {
        pl.dropped++
        this.metrics.droppedFrames++
        return
      }
      pl.dropping = false
    } else if (queued > PLAYER_SOFT_BYTES && !frame.sequenceHeader) {
      pl.dropping = true
      pl.dropped++
      this.metrics.droppedFrames++
      return
    }
    if (pl.metaVersion !== this.metaVersion && this.metadata !== null) {
      pl.metaVersion = this.metaVersion
      pl.sink.writeFrame(this.metadata)
    }
    pl.sink.writeFrame(frame)
  }
}
