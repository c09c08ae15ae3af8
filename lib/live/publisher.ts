// Who is in a stream besides its sinks: publishers (their handles and what each last sent),
// and every session or relay leg as rtmp_stat lists it and rtmp_control picks it (§9).
import type { AmfObject } from '../amf/value.js'
import type { PlayFailure, PlayInfo } from '../stages.js'
import type { Frame } from './frame.js'

/**
 * A session or relay leg as rtmp_stat lists it and rtmp_control picks it (§9): a stream's
 * players and publishers each carry one.
 */
export interface Member {
  /** the connection number (`clientid`); 0 for relay legs (§9.1) */
  readonly id: number
  /** the session's fields (a relay leg: the session it copies them from, §2.2) */
  readonly info: PlayInfo
  readonly protocol: 'rtmp' | 'flv'
  readonly relay: boolean
  /** when it joined the stream (ms since the epoch) */
  readonly since: number
  /** its place in the order of joining: rtmp_stat lists the last joined first, as nginx-rtmp */
  readonly seq: number
  /** rtmp_control drop: a session is closed (no status); a relay leg reconnects at once */
  drop(): void
  /** rtmp_control redirect: a session plays or publishes `target` instead; null for relay legs */
  readonly redirect: ((target: string) => void) | null
}

let joins = 0

/** A member joining now. */
export function member(id: number, info: PlayInfo, protocol: 'rtmp' | 'flv', relay: boolean, drop: () => void, redirect: ((target: string) => void) | null = null): Member {
  return { id, info, protocol, relay, since: Date.now(), seq: ++joins, drop, redirect }
}

export interface PublisherHandle {
  /** pubpri: higher wins; pull legs use -1 */
  readonly priority: number
  /** the stream ends under it (its application is gone after a reload): disconnect */
  close(reason: string): void
  /** a push target refused the stream (§5.2): tell the publisher how, then disconnect; relay legs have none */
  refuse?(failure: PlayFailure): void
  /** what rtmp_stat shows of it and rtmp_control does to it */
  readonly member?: Member
}

/** A stream member as rtmp_stat lists it. */
export interface MemberView {
  readonly member: Member
  readonly publishing: boolean
  /** frames dropped for it (a slow player) */
  readonly dropped: number
  /** a player that paused itself (RTMP pause) */
  readonly paused: boolean
}

/** What each publisher last sent of metadata and sequence headers (kept per publisher, as nginx-rtmp). */
export interface PublisherState {
  readonly handle: PublisherHandle
  metadata: Frame | null
  /** the onMetaData values as sent ($metadata, §6.1) */
  metadataValues: AmfObject | null
  audioHeader: Frame | null
  videoHeader: Frame | null
  /** rtmp_control pause: its media is not forwarded (§9.2) */
  paused: boolean
  /** resumed: forwarding restarts at the next keyframe */
  awaitKey: boolean
}

