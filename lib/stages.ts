// The play and publish pipelines (nginx-rtmp's next_play / next_publish chains, pingos-behaviour.md
// §0): a list of stages composed once per application from the config tree, entered the same
// way by RTMP and HTTP-FLV sessions.
//
//   session ──► Request ──► access ─► live.enter ─► on_stream ─► on_play ─► relay.pull ─► live.play ──► outcome(null)
//                  │          each stage: continue (null), refuse (PlayFailure), or wait (WAIT)   └─► outcome(failure)
//                  │          a stage may suspend (a notify callout); the session is told once
//                  └─ close(): the client went away or stopped: leave the stream, then the done
//                     stages, last registered first; a pending callout is aborted
//
// The session only translates: protocol → Request, outcome → onStatus / HTTP status.
import type { AppConf, RtmpServerConf } from './conf/tree.js'
import { accessAllowed } from './core/access.js'
import type { LogContext } from './core/log.js'

// What the play pipeline knows about a player, whichever protocol it came in on: the fields
// PingOS copies into a pull leg (§2.2) and exposes as notify variables (§6.1). A publisher
// has the same fields (its publish name and query in name and pargs).
export interface PlayInfo {
  /** connection number (`clientid`), shared by RTMP and HTTP */
  readonly clientId: number
  /** RTMP: tcUrl host without port; HTTP: Host header, lower-case, no port */
  readonly domain: string
  readonly app: string
  /** stream name without the query */
  readonly name: string
  /** RTMP: query of the play name; HTTP: the whole raw query string */
  readonly pargs: string
  /** RTMP: query of the connect app; HTTP: "" */
  readonly args: string
  readonly flashVer: string
  readonly swfUrl: string
  readonly tcUrl: string
  /** RTMP: connect pageUrl; HTTP: Referer */
  readonly pageUrl: string
  readonly audioCodecs: number
  readonly videoCodecs: number
  readonly scheme: 'rtmp' | 'http' | 'https'
  readonly serverId: string
  readonly remoteAddr: string
  readonly remotePort: string
  readonly serverAddr: string
  readonly serverPort: string
  /** the listening address text the session came in on (`0.0.0.0:1935`; HTTP-FLV: its flv_live's): rtmp_stat's <address>, rtmp_control's addr= */
  readonly listen: string
}

/** An RTMP status a failed play or publish ends with, and the HTTP status an HTTP-FLV player gets. */
export interface PlayFailure {
  readonly level: string
  readonly code: string
  readonly description: string
  /** sent as onStatus, or as _error when the origin used _error */
  readonly viaError: boolean
  readonly httpStatus: number
  /** the client stays connected after the status (a duplicate publisher, §7.2) */
  readonly keepConnection?: boolean
}

/** Refused by allow/deny or by the business server (§4.3, §4.8): the status PingOS's source intends. */
export function forbidden(httpStatus: number): PlayFailure {
  return { level: 'status', code: 'NetStream.Play.Forbidden', description: 'Play stream Forbidden', viaError: false, httpStatus }
}

/** Who a notification is about: a client session, or a relay leg (`clientid=0`). */
export interface Subject {
  readonly clientId: number
  readonly domain: string
  readonly app: string
  readonly name: string
  /** a variable's value, evaluated at most once per session (§6.3) */
  variable(name: string): string
  /** for the log lines about its notifications */
  readonly logCtx: LogContext
}

/** onMetaData values as a publisher sent them. */
export type MetadataValues = Readonly<Record<string, unknown>>

/** The events of a live stream that stages and relays listen to. */
export interface StreamEventMap {
  /** no player is left or waiting in a pipeline (checked once the current job ends) */
  playersEmpty: []
  /** a publisher sent an audio or video sequence header */
  header: [track: 'audio' | 'video', publisher: object]
  /** the last publisher left (a pull leg counts as one): push legs end (§5.1) */
  publishersEmpty: []
  /** nobody is left and the hub forgot the stream; `by` left last */
  ended: [by: Subject | null]
}

/** What stages outside the live hub see of a stream. */
export interface StreamView {
  /** Listen to `event`; returns the function that stops listening. */
  on<E extends keyof StreamEventMap>(event: E, fn: (...args: StreamEventMap[E]) => void): () => void
  /** the onMetaData values `publisher` last sent, or null */
  metadataOf(publisher: object): MetadataValues | null
}

/** A stage's answer: go on (null), refuse, or stop here with the client left waiting (`live off`). */
export const WAIT = Symbol('wait')
export type StageResult = PlayFailure | null | typeof WAIT
export type Stage<R> = (req: R) => StageResult | Promise<StageResult>
/** The outcome of a pipeline: null = started; later a failure may still end it (on_meta refused). */
export type Outcome = (failure: PlayFailure | null) => void

export type Action = 'play' | 'publish'

/** One play or publish on its way through a pipeline, and until its session leaves. */
export class StageRequest<Stream extends StreamView = StreamView, Client = unknown> {
  /** set by live.enter: the stream this request holds */
  stream: Stream | null = null
  /** this request's arrival created the stream */
  created = false
  /** made by the first stage that needs it (the notify variables of this session) */
  subject: Subject | null = null
  /** set by live.publish: the handle this request publishes with */
  publisher: object | null = null
  private closed = false
  /** made when a stage first asks for the signal: most plays never wait */
  private aborter: AbortController | null = null
  private readonly leaves: (() => void)[] = []
  private readonly dones: (() => void)[] = []
  private outcome: Outcome | null = null

  constructor(
    readonly action: Action,
    readonly info: PlayInfo,
    readonly app: AppConf,
    readonly server: RtmpServerConf,
    /** the player's sink, or the publishing session */
    readonly client: Client,
  ) {}

  /** the client went away: a suspended stage stops waiting */
  get gone(): boolean {
    return this.closed
  }

  /** aborted when the client goes away: pending callouts end with it */
  get signal(): AbortSignal {
    this.aborter ??= new AbortController()
    return this.aborter.signal
  }

  /** A step of leaving the stream (live.play's, then live.enter's: the last registered runs first). */
  onLeave(fn: () => void): void {
    this.leaves.push(fn)
  }

  /** A done stage: runs at close, after the stream was left; the last registered runs first. */
  onDone(fn: () => void): void {
    this.dones.push(fn)
  }

  /** Refuse the request after it started (on_meta): the session is told as for a refusal. */
  refuse(failure: PlayFailure): void {
    if (!this.closed) this.outcome?.(failure)
  }

  /** The client went away or stopped playing/publishing. Idempotent. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.aborter?.abort()
    for (let i = this.leaves.length - 1; i >= 0; i--) this.leaves[i]()
    this.leaves.length = 0
    for (let i = this.dones.length - 1; i >= 0; i--) this.dones[i]()
    this.dones.length = 0
  }

  /** Run `stages` on this request; `outcome` is called once with null (started) or a failure. */
  async enter(stages: readonly Stage<this>[], outcome: Outcome): Promise<void> {
    this.outcome = outcome
    for (const stage of stages) {
      let r = stage(this)
      // a stage that does not suspend keeps the whole play in one turn (no await on the hot path)
      if (r instanceof Promise) r = await r
      if (this.closed) return
      if (r === WAIT) return
      if (r !== null) {
        outcome(r)
        return
      }
    }
    outcome(null)
  }
}

/** allow/deny (§1.6): the first stage, before anything is sent, asked or pulled (docs/compat.md). */
export function accessStage(req: StageRequest): StageResult {
  return accessAllowed(req.app.access, req.action, req.info.remoteAddr) ? null : forbidden(403)
}
