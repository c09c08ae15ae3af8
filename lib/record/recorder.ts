// One recorder of one publish (nginx-rtmp's record node, observed §16): a passive sink of the
// stream that writes what its `record` words select into FLV files, one file at a time, from
// its own publisher only: while another publisher of the stream is the active one (pubpri,
// behaviour §7.2) it takes nothing, its file closed at the handover (StreamEOF).
//
//   begin() ──► [on_record start] ──► file opened (Record.Start) ──► at the first break frame:
//                                     headers, then frames, timestamps from 0
//   a break frame (video keyframe; any audio frame when video is not recorded), not `manual`
//   (ngx_rtmp_record_node_av):
//     record_interval set: passed since the last open (or open attempt) → close, open
//     no record_interval: no file (after a limit), and no open failed → open
//   after a write: record_max_size / record_max_frames reached → close (Record.Stop)
//   StreamEOF (the publisher lost the stream) → close; open at a break frame once active again
//   end() (the publisher left, edge stops) → close; on_record done
//
// An open that fails is one [crit] line; the recorder tries again after record_interval (with
// one), at the next /control/record/start (manual), else records nothing more for this publish.
// A write that fails is one [error] line, the file is closed, and the recorder stops. on_record
// names each file that opened once: update when it closes while recording goes on, done when
// the recording ends (with no file then: done without one, docs/compat.md).
import type { RecorderConf } from '../conf/tree.js'
import { errnoText } from '../core/errno.js'
import type { LogContext, Logger } from '../core/log.js'
import type { Frame } from '../live/frame.js'
import type { Sink } from '../live/player.js'
import { inspectVideo } from '../media/codec.js'
import { recordFields, RECORD_FIELDS_NO_FILE } from '../notify/events.js'
import type { PlayFailure } from '../stages.js'
import { FlvFile } from './flv-file.js'
import { FsDeadlineError, type FsLimiter } from './fs-limit.js'
import { recordFilePath } from './path.js'

/** on_record of the publish, as a recorder uses it. */
export interface OnRecord {
  /** act=start: true when the recorder may record (200..300, or no answer) */
  ask(): Promise<boolean>
  /** act=update / act=done with the record fields, fire and forget */
  tell(act: 'update' | 'done', fields: string): void
}

/** What a recorder needs of its publish and of the node. */
export interface RecorderContext {
  readonly log: Logger
  readonly logCtx: LogContext
  /** an onStatus to the publisher (record_notify) */
  notice(level: string, code: string, description: string): void
  readonly onRecord: OnRecord | null
  /** hevc_codecid of the server (an H.265 end of sequence is told apart by it) */
  readonly hevcCodecId: number
  /** its publisher is the stream's active one (stream.isPublishing) */
  isActive(): boolean
  /** recording's share of the threadpool */
  readonly fs: FsLimiter
  /** resolves once the last file of `path` (of any recorder) is closed; null when none is open */
  lastClose(path: string): Promise<void> | null
  /** a file's life: resolves once its handle is closed (edge's stop waits for it, a next file of its name too) */
  track(path: string, closed: Promise<void>): void
  /** the stream closed this recorder's player (a pull leg's failure): it joins again as a new one */
  rejoin(): void
}

/**
 * Unwritten bytes past which a recorder says, once, that the disk does not keep up (below the
 * stream's soft limit, past which its frames are dropped to the next keyframe).
 */
export const RECORD_BEHIND_BYTES = 1024 * 1024

/** A file as on_record's fields name it: its path and monotonic ms of its open and close. */
interface FileSpan {
  readonly path: string
  readonly file: FlvFile
  readonly beginMs: number
  endMs: number
  /** open: Record.Start was sent; a close before the open completed owes its Record.Stop until then */
  opened: boolean
  closed: boolean
}

/** ms of a monotonic clock (on_record's begintime and endtime, record_interval). */
function monotonicMs(): number {
  return Number(process.hrtime.bigint() / 1_000_000n)
}

/** `&begintime=<ms>&endtime=<ms>&index=&file=<path>` (§4.2): no index file for FLV recordings. */
function fieldsOf(span: FileSpan): string {
  return recordFields(span.beginMs, span.endMs, '', span.path)
}

/** `(errno: message)`, or the deadline an fs call passed */
function failureText(err: NodeJS.ErrnoException): string {
  return err instanceof FsDeadlineError ? `(${err.message})` : errnoText(err)
}

export class Recorder implements Sink {
  readonly format = 'flv'
  readonly passive = true
  private readonly audio: boolean
  private readonly video: boolean
  /** video keyframes only (`record keyframes`) */
  private readonly keyframes: boolean
  /** `record manual`: opens only when started (/control/record/start) */
  readonly manual: boolean
  /** files not yet closed: their unwritten bytes are this sink's */
  private readonly files = new Set<FlvFile>()
  /** recording is asked for (automatic from the start; manual between start and stop) */
  private wanted = false
  /** the publish ended, the stream gave up on it, a write failed: nothing more */
  private stopped = false
  /** end() ran */
  private ended = false
  /** on_record start was sent */
  private asked = false
  /** on_record's start answer allows recording; null before the answer */
  private permitted: boolean | null = null
  /** the last open failed (nginx-rtmp's rctx->failed): no open at a break frame without record_interval */
  private failedOpen = false
  /** open at the next break frame once active (a file closed at StreamEOF, or started while another publisher is active) */
  private resume = false
  /** monotonic ms of the last open or open attempt (nginx-rtmp's rctx->last): record_interval counts from it */
  private lastOpenMs = 0
  private audioHeader: Frame | null = null
  private videoHeader: Frame | null = null
  /** timestamp of the current file's first frame (tags are relative to it); null before it */
  private baseTs: number | null = null
  private frames = 0
  private current: FileSpan | null = null
  /** a file closed by a failure and not yet named to on_record: the done names it */
  private unreported: FileSpan | null = null
  /** on_record update / done, one after the other (each waits for its file's open to settle) */
  private told: Promise<void> = Promise.resolve()
  /** the slow-disk line was written; written again after the queue drained to half */
  private behind = false

  constructor(readonly conf: RecorderConf, private readonly streamName: string, private readonly ctx: RecorderContext) {
    const words = conf.record
    this.audio = words.includes('all') || words.includes('audio')
    this.video = words.includes('all') || words.includes('video')
    this.keyframes = words.includes('keyframes')
    this.manual = words.includes('manual')
  }

  get name(): string {
    return this.conf.name
  }

  get queuedBytes(): number {
    let n = 0
    for (const f of this.files) n += f.queuedBytes
    return n
  }

  private get file(): FlvFile | null {
    return this.current?.file ?? null
  }

  /** At publish: an automatic recorder opens its first file; resolves once the open is done (or asked). */
  begin(): Promise<void> {
    return this.manual ? Promise.resolve() : this.start()
  }

  /** Record (again): the file opens now unless one is open (at a break frame while another publisher is active). */
  start(): Promise<void> {
    if (this.stopped) return Promise.resolve()
    this.wanted = true
    if (this.file !== null) return Promise.resolve()
    const onRecord = this.ctx.onRecord
    if (onRecord !== null && this.permitted !== true) {
      // on_record start once per publish; the file opens after the answer (§4.6), Publish.Start does not wait
      if (!this.asked) {
        this.asked = true
        void onRecord.ask().then((ok) => {
          this.permitted = ok
          if (ok && this.wanted && this.file === null && !this.stopped) this.openOrResume()
        })
      }
      return Promise.resolve()
    }
    return this.openOrResume()
  }

  /** Stop recording until start(): the file closes. */
  stop(): void {
    this.wanted = false
    this.resume = false
    this.closeFile(false)
  }

  /** The publish ended (or edge stops): the file closes; on_record done. */
  end(): void {
    if (this.ended) return
    this.ended = true
    this.stopped = true
    const span = this.closeFile(true) ?? this.unreported
    this.unreported = null
    if (this.permitted === true) this.report(span, 'done')
  }

  private openOrResume(): Promise<void> {
    if (this.ctx.isActive()) return this.open()
    this.resume = true
    return Promise.resolve()
  }

  private open(): Promise<void> {
    const now = new Date()
    const path = recordFilePath(this.conf, this.streamName, now)
    this.lastOpenMs = monotonicMs()
    const file: FlvFile = new FlvFile(path, {
      append: this.conf.recordAppend,
      // a file of the same name (this recorder's last one, or another publish's) is closed first
      after: this.ctx.lastClose(path),
      hasAudio: this.audio,
      hasVideo: this.video || this.keyframes,
      fs: this.ctx.fs,
      onWriteError: (err) => this.writeFailed(span, err),
    })
    this.files.add(file)
    this.ctx.track(path, file.closed.then(() => { this.files.delete(file) }))
    this.baseTs = null
    this.frames = 0
    const span: FileSpan = { path, file, beginMs: this.lastOpenMs, endMs: 0, opened: false, closed: false }
    this.current = span
    return file.opened.then((err) => {
      if (err !== null) {
        this.openFailed(span, err)
        return
      }
      this.failedOpen = false
      this.ctx.log.info(`record: ${this.name} opened '${path}'`, this.ctx.logCtx)
      span.opened = true
      this.notice('NetStream.Record.Start')
      if (span.closed) this.notice('NetStream.Record.Stop')
    })
  }

  private openFailed(span: FileSpan, err: NodeJS.ErrnoException): void {
    // ngx_rtmp_record_node_open; the two spaces for the application's own recorder are nginx-rtmp's
    this.ctx.log.log('crit', `record: ${this.name} failed to open file '${span.path}' ${failureText(err)}`, this.ctx.logCtx)
    this.failedOpen = true
    // a disk that does not answer holds a thread: nothing more is asked of it
    if (err instanceof FsDeadlineError) this.stopped = true
    if (this.current === span) this.current = null
  }

  private writeFailed(span: FileSpan, err: NodeJS.ErrnoException): void {
    this.ctx.log.error(`record: ${this.name} write to '${span.path}' failed ${failureText(err)}, recording stopped`, this.ctx.logCtx)
    this.stopped = true
    if (this.current === span) {
      this.current = null
      span.endMs = monotonicMs()
      span.closed = true
      if (span.opened) this.notice('NetStream.Record.Stop')
      this.unreported = span
    } else {
      this.unreported = this.closeFile(true) ?? this.unreported
    }
  }

  // The file closes; Record.Stop; on_record update when recording goes on (`final`: end() sends done).
  private closeFile(final: boolean): FileSpan | null {
    const span = this.current
    if (span === null) return null
    this.current = null
    span.endMs = monotonicMs()
    span.closed = true
    void span.file.close().then(() => this.ctx.log.info(`record: ${this.name} closed '${span.path}'`, this.ctx.logCtx))
    if (span.opened) this.notice('NetStream.Record.Stop')
    if (!final && this.permitted === true) this.report(span, 'update')
    return span
  }

  /** on_record update or done naming `span` once its open succeeded; done without a file when none opened. */
  private report(span: FileSpan | null, act: 'update' | 'done'): void {
    const onRecord = this.ctx.onRecord
    if (onRecord === null) return
    this.told = this.told.then(() => span?.file.opened ?? null).then((err) => {
      if (span !== null && err === null) onRecord.tell(act, fieldsOf(span))
      else if (act === 'done') onRecord.tell('done', RECORD_FIELDS_NO_FILE)
    })
  }

  /** record_notify: an onStatus to the publisher, the recorder's name as description (observed §16) */
  private notice(code: string): void {
    if (this.conf.recordNotify) this.ctx.notice('status', code, this.name)
  }

  // ---- Sink ------------------------------------------------------------------------------

  writeFrame(frame: Frame): void {
    // pubpri (§7.2): the stream sends the active publisher's frames; this recorder takes its own
    // publisher's. Another one's frame closes the file as StreamEOF does (none came if this
    // publisher had sent no media when the other took over).
    if (!this.ctx.isActive()) {
      if (this.file !== null) this.streamEof()
      return
    }
    if (frame.sequenceHeader) {
      if (frame.isVideo) this.videoHeader = frame
      else this.audioHeader = frame
    }
    if (this.stopped || !this.wanted || !this.records(frame)) return
    this.checkBehind()
    // where a file may begin: a video keyframe (an end of sequence is flagged key too: not one),
    // or any audio frame when video is not recorded
    const breaks = !frame.sequenceHeader && (frame.isVideo
      ? frame.keyframe && inspectVideo(frame.msg.payload, this.ctx.hevcCodecId)?.sequenceEnd !== true
      : !(this.video || this.keyframes))
    if (breaks) this.atBreak()
    this.put(frame, breaks)
  }

  // ngx_rtmp_record_node_av: only a recorder that is not manual opens or rotates by itself.
  private atBreak(): void {
    if (this.resume) {
      this.resume = false
      if (this.file === null) {
        this.openPermitted()
        return
      }
    }
    if (this.manual) return
    const intervalMs = this.conf.recordIntervalMs
    if (intervalMs !== null) {
      // the interval counts from the last open, failed or not: a failed open is tried again each interval
      if (monotonicMs() - this.lastOpenMs >= intervalMs) {
        this.closeFile(false)
        this.openPermitted()
      }
    } else if (this.file === null && !this.failedOpen) {
      this.openPermitted()
    }
  }

  private openPermitted(): void {
    if (this.ctx.onRecord !== null && this.permitted !== true) return
    void this.open()
  }

  private checkBehind(): void {
    const queued = this.queuedBytes
    if (!this.behind && queued > RECORD_BEHIND_BYTES) {
      this.behind = true
      this.ctx.log.warn(`record: ${this.name} writes fall behind: ${queued} bytes unwritten, frames are dropped if it goes on`, this.ctx.logCtx)
    } else if (this.behind && queued < RECORD_BEHIND_BYTES / 2) {
      this.behind = false
    }
  }

  private records(frame: Frame): boolean {
    if (frame.isAudio) return this.audio
    if (frame.isVideo) return this.video || (this.keyframes && (frame.keyframe || frame.sequenceHeader))
    return false // onMetaData is not recorded (nginx-rtmp writes none either)
  }

  private put(frame: Frame, breaks: boolean): void {
    const file = this.file
    if (file === null) return
    if (this.baseTs === null) {
      // a file starts at a break frame, after the current sequence headers
      if (!breaks) return
      this.baseTs = frame.timestamp
      for (const h of [this.audioHeader, this.videoHeader]) {
        if (h !== null && this.records(h)) file.write(h.msg.typeId, 0, h.msg.payload)
      }
    }
    const d = (frame.timestamp - this.baseTs) | 0
    file.write(frame.msg.typeId, d < 0 ? 0 : d, frame.msg.payload)
    this.frames++
    const { recordMaxSizeBytes, recordMaxFrames } = this.conf
    if ((recordMaxSizeBytes > 0 && file.sizeBytes + file.queuedBytes >= recordMaxSizeBytes) ||
      (recordMaxFrames > 0 && this.frames >= recordMaxFrames)) this.closeFile(false)
  }

  streamBegin(): void {}

  /** The stream's media from the active publisher ended (its publisher lost the stream, or left): the file closes. */
  streamEof(): void {
    this.audioHeader = this.videoHeader = null
    if (this.ended || this.file === null) return
    this.closeFile(false)
    this.resume = this.wanted
  }

  /** The stream gave up on it (a disk slower than the hard limit; the stream ended). */
  close(reason: string): void {
    if (this.ended) return
    if (!this.stopped) this.ctx.log.error(`record: ${this.name} stopped: ${reason}`, this.ctx.logCtx)
    this.end()
  }

  /**
   * A pull leg of the stream failed (failPlayers): not this recorder's publisher. Its player was
   * closed by the stream, so it joins again (headers and the GOP burst come again: the file
   * closes as at a StreamEOF and the next one opens at a break frame).
   */
  fail(_failure: PlayFailure): void {
    if (this.ended) return
    this.streamEof()
    this.ctx.rejoin()
  }
}
