// The GOP cache (PingOS ngx_rtmp_gop_module, §7.5): the frames since the last keyframes, so a
// player that joins late starts at once from a keyframe. Frames are numbered (seq) so that a
// player can hold a cursor into the cache. The cache holds between cache_time and cache_time
// plus one GOP: a whole GOP is dropped when a new video frame is cache_time past the second
// keyframe. Audio-only streams keep cache_time of audio. Capacity is bounded by out_queue.
import type { Frame } from './frame.js'

export class GopCache {
  private frames: Frame[] = []
  /** seq of frames[0] */
  private base = 0
  /** seqs of the keyframes in the cache, oldest first */
  private keyframes: number[] = []
  private sawKeyframe = false

  constructor(
    /** cache_time */
    private readonly cacheTimeMs: number,
    /** out_queue: most frames held */
    private readonly maxFrames: number,
  ) {}

  /** seq the next pushed frame will get */
  get nextSeq(): number {
    return this.base + this.frames.length
  }

  /** seq of the oldest cached frame (a keyframe once trimming began) */
  get headSeq(): number {
    return this.base
  }

  get size(): number {
    return this.frames.length
  }

  get(seq: number): Frame | undefined {
    return this.frames[seq - this.base]
  }

  /** the seq of the newest keyframe, or -1 */
  get lastKeyframeSeq(): number {
    return this.keyframes.length > 0 ? this.keyframes[this.keyframes.length - 1] : -1
  }

  /** Add a frame (not a sequence header); returns false when it was not cached. */
  push(frame: Frame): boolean {
    if (frame.isVideo) {
      if (frame.keyframe) this.sawKeyframe = true
      // video before the first keyframe is not cached (still forwarded live)
      if (!this.sawKeyframe) return false
    }
    if (frame.keyframe) this.keyframes.push(this.nextSeq)
    this.frames.push(frame)
    this.trim(frame)
    return true
  }

  private trim(newest: Frame): void {
    if (this.keyframes.length >= 2 && newest.isVideo) {
      const second = this.get(this.keyframes[1]) as Frame
      if (((newest.timestamp - second.timestamp) | 0) >= this.cacheTimeMs) this.dropBefore(this.keyframes[1])
    } else if (!this.sawKeyframe) {
      let drop = 0
      while (drop < this.frames.length && ((newest.timestamp - this.frames[drop].timestamp) | 0) > this.cacheTimeMs) drop++
      if (drop > 0) this.dropBefore(this.base + drop)
    }
    // A full ring forces trimming, still a GOP at a time so the head stays a keyframe; with
    // no second keyframe to cut at, the cache restarts at the next keyframe.
    while (this.frames.length > this.maxFrames) {
      if (this.keyframes.length >= 2) this.dropBefore(this.keyframes[1])
      else if (this.keyframes.length === 1 && this.keyframes[0] > this.base) this.dropBefore(this.keyframes[0])
      else this.clear()
    }
  }

  private dropBefore(seq: number): void {
    this.frames.splice(0, seq - this.base)
    this.base = seq
    while (this.keyframes.length > 0 && this.keyframes[0] < seq) this.keyframes.shift()
  }

  clear(): void {
    this.base = this.nextSeq
    this.frames = []
    this.keyframes = []
    this.sawKeyframe = false
  }
}
