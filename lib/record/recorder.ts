// One recorder of one publish (nginx-rtmp's record node, observed §16): a passive sink of the
// stream that writes what its `record` words select into FLV files, one file at a time.
//
//   begin() ──► [on_record start] ──► file opened (Record.Start) ──► at the first break frame:
//                                     headers, then frames, timestamps from 0
//   a break frame (video keyframe; any audio frame when video is not recorded):
//     no file (after a limit) → open the next one;  record_interval passed → close, open at once
//   after a write: record_max_size / record_max_frames reached → close (Record.Stop)
//   end() (the publisher left, edge stops) → close; on_record done
//
// An open that fails is one [crit] line and the recorder records nothing more for this
// publish; a write that fails is one [error] line, the file is closed, and the recorder stops.
import type { RecorderConf } from '../conf/tree.js'
import { errnoText } from '../core/errors.js'
import type { LogContext, Logger } from '../core/log.js'
import type { Frame } from '../live/frame.js'
import type { Sink } from '../live/stream.js'
import { inspectVideo } from '../media/codec.js'
import { recordFields } from '../notify/events.js'
import type { PlayFailure } from '../stages.js'
import { FlvFile } from './flv-file.js'
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
  /** a file's life: resolves once its handle is closed (edge's stop waits for it) */
  track(closed: Promise<void>): void
}

/**
 * Unwritten bytes past which a recorder says, once, that the disk does not keep up (below the
 * stream's soft limit, past which its frames are dropped to the next keyframe).
 */
export const RECORD_BEHIND_BYTES = 1024 * 1024

/** A file as on_record's fields name it: its path and monotonic ms of its open and close. */
interface FileSpan {
  readonly path: string
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

export class Recorder implements Sink {
  readonly format = 'flv'
  readonly passive = true
  private readonly audio: boolean
  private readonly video: boolean
  /** video keyframes only (`record keyframes`) */
  private readonly keyframes: boolean
  /** `record manual`: opens only when started (/control/record/start) */
  readonly manual: boolean
  private file: FlvFile | null = null
  /** files not yet closed: their unwritten bytes are this sink's */
  private readonly files = new Set<FlvFile>()
  /** recording is asked for (automatic from the start; manual between start and stop) */
  private wanted = false
  /** the publish ended, the stream gave up on it, or a file failed: nothing more */
  private stopped = false
  /** end() ran */
  private ended = false
  /** on_record start was sent */
  private asked = false
  /** on_record's start answer allows recording; null before the answer */
  private permitted: boolean | null = null
  private audioHeader: Frame | null = null
  private videoHeader: Frame | null = null
  /** timestamp of the current file's first frame (tags are relative to it); null before it */
  private baseTs: number | null = null
  private frames = 0
  private current: FileSpan | null = null
  private last: FileSpan | null = null
  /** the slow-disk line was written; written again after the queue drained to half */
  private behind = false
  /** the last file opened: a next one of the same name opens once it is closed */
  private previous: FlvFile | null = null

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

  /** At publish: an automatic recorder opens its first file; resolves once the open is done (or asked). */
  begin(): Promise<void> {
    return this.manual ? Promise.resolve() : this.start()
  }

  /** Record (again): the file opens now unless one is open. */
  start(): Promise<void> {
    if (this.stopped) return Promise.resolve()
    this.wanted = true
    if (this.file !== null) return Promise.resolve()
    const onRecord = this.ctx.onRecord
    if (onRecord === null || this.permitted === true) return this.open()
    // on_record start once per publish; the file opens after the answer (§4.6), Publish.Start does not wait
    if (!this.asked) {
      this.asked = true
      void onRecord.ask().then((ok) => {
        this.permitted = ok
        if (ok && this.wanted && this.file === null && !this.stopped) void this.open()
      })
    }
    return Promise.resolve()
  }

  /** Stop recording until start(): the file closes. */
  stop(): void {
    this.wanted = false
    this.closeFile()
  }

  /** The publish ended (or edge stops): the file closes; on_record done for the last file. */
  end(): void {
    if (this.ended) return
    this.ended = true
    this.stopped = true
    this.closeFile()
    if (this.ctx.onRecord !== null && this.permitted === true && this.last !== null) {
      this.ctx.onRecord.tell('done', fieldsOf(this.last))
    }
  }

  private open(): Promise<void> {
    const now = new Date()
    const path = recordFilePath(this.conf, this.streamName, now)
    const previous = this.previous
    const file: FlvFile = new FlvFile(path, {
      append: this.conf.recordAppend,
      after: previous !== null && previous.path === path ? previous.closed : null,
      hasAudio: this.audio,
      hasVideo: this.video || this.keyframes,
      onWriteError: (err) => this.writeFailed(file, err),
    })
    this.file = file
    this.previous = file
    this.files.add(file)
    this.baseTs = null
    this.frames = 0
    const span: FileSpan = { path, beginMs: monotonicMs(), endMs: 0, opened: false, closed: false }
    this.current = span
    this.ctx.track(file.closed.then(() => { this.files.delete(file) }))
    return file.opened.then((err) => {
      if (err !== null) {
        this.openFailed(file, err)
        return
      }
      this.ctx.log.info(`record: ${this.name} opened '${path}'`, this.ctx.logCtx)
      span.opened = true
      this.notice('NetStream.Record.Start')
      if (span.closed) this.notice('NetStream.Record.Stop')
    })
  }

  private openFailed(file: FlvFile, err: NodeJS.ErrnoException): void {
    // ngx_rtmp_record_node_open; the two spaces for the application's own recorder are nginx-rtmp's
    this.ctx.log.log('crit', `record: ${this.name} failed to open file '${file.path}' ${errnoText(err)}`, this.ctx.logCtx)
    this.stopped = true
    if (this.file === file) {
      this.file = null
      this.finishSpan()
    }
  }

  private writeFailed(file: FlvFile, err: NodeJS.ErrnoException): void {
    this.ctx.log.error(`record: ${this.name} write to '${file.path}' failed ${errnoText(err)}, recording stopped`, this.ctx.logCtx)
    this.stopped = true
    if (this.file === file) {
      this.file = null
      this.finishSpan()
    } else {
      this.closeFile()
    }
  }

  private finishSpan(): FileSpan | null {
    const span = this.current
    if (span === null) return null
    span.endMs = monotonicMs()
    this.current = null
    this.last = span
    return span
  }

  // The file closes; Record.Stop; on_record update when recording goes on (done comes from end()).
  private closeFile(): void {
    const file = this.file
    if (file === null) return
    this.file = null
    const span = this.finishSpan() as FileSpan
    void file.close().then(() => this.ctx.log.info(`record: ${this.name} closed '${file.path}'`, this.ctx.logCtx))
    span.closed = true
    if (span.opened) this.notice('NetStream.Record.Stop')
    if (!this.stopped && this.permitted === true) this.ctx.onRecord?.tell('update', fieldsOf(span))
  }

  /** record_notify: an onStatus to the publisher, the recorder's name as description (observed §16) */
  private notice(code: string): void {
    if (this.conf.recordNotify) this.ctx.notice('status', code, this.name)
  }

  // ---- Sink ------------------------------------------------------------------------------

  writeFrame(frame: Frame): void {
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
    if (this.file === null) {
      if (!breaks || (this.ctx.onRecord !== null && this.permitted !== true)) return
      void this.open()
    } else if (breaks && this.baseTs !== null && this.conf.recordIntervalMs !== null &&
      monotonicMs() - (this.current as FileSpan).beginMs >= this.conf.recordIntervalMs) {
      this.closeFile()
      void this.open()
    }
    this.put(frame, breaks)
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
      (recordMaxFrames > 0 && this.frames >= recordMaxFrames)) this.closeFile()
  }

  streamBegin(): void {}

  streamEof(): void {}

  /** The stream gave up on it (a disk slower than the hard limit; the stream ended). */
  close(reason: string): void {
    if (this.ended) return
    if (!this.stopped) this.ctx.log.error(`record: ${this.name} stopped: ${reason}`, this.ctx.logCtx)
    this.end()
  }

  fail(failure: PlayFailure): void {
    this.close(failure.code)
  }
}
