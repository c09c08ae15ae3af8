// A player as a live stream sees it: the sink it writes frames to (an RTMP or HTTP-FLV session,
// a push leg, a recorder) and the stream's per-player state, with the bounds on unsent output.
import type { PlayFailure } from '../stages.js'
import type { Member } from './publisher.js'
import type { Frame, OutputFormat } from './frame.js'

const MiB = 1024 * 1024

/** A player whose unsent output passes this drops frames until the next keyframe. */
export const PLAYER_SOFT_BYTES = 2 * MiB
/** A player whose unsent output passes this is disconnected, alone. */
export const PLAYER_HARD_BYTES = 8 * MiB

/** What a stream needs to know of a player's connection. */
export interface Sink {
  readonly format: OutputFormat
  /** bytes written and not yet taken by the kernel */
  readonly queuedBytes: number
  /** write the frame's encoding for this sink's format */
  writeFrame(frame: Frame): void
  /** the stream has media (RTMP: User Control StreamBegin) */
  streamBegin(): void
  /** the publisher left (RTMP: User Control StreamEOF) */
  streamEof(): void
  /** the stream gives up on this player: slow past the hard limit, or no publisher with idle_streams off */
  close(reason: string): void
  /** the play failed (origin error, on_pull refusal): tell the player how, then close */
  fail(failure: PlayFailure): void
  /** a recorder: fed like a player, but it does not keep a pull going (playersEmpty ignores it) */
  readonly passive?: boolean
}

export class Player {
  videoStarted = false
  audioStarted = false
  metaVersion = -1
  /** over the soft limit: skipping frames until the next keyframe */
  dropping = false
  /** with the GOP cache and send_all off: seq of the next cached frame owed, -1 when live */
  cursor = -1
  dropped = 0
  /** the stream gave up on it; nothing more is sent while it leaves */
  closed = false

  constructor(readonly sink: Sink, readonly member: Member | null) {}
}
