// One FLV file being recorded. Opened without blocking (truncated, or appended to with its
// timestamps continuing after the last tag already in it), then written one FileHandle.writev
// at a time: each tag goes out as its 11-byte header, the payload Buffer by reference (no copy)
// and its PreviousTagSize. `queuedBytes` counts what was handed over and not yet written, so
// the stream's soft and hard output limits apply to a slow disk as to a slow player. Every fs
// call goes through recording's FsLimiter (fs-limit.ts): a call past its deadline is reported
// as a write error and the handle is closed once the call returns. At the close, the header's
// audio and video flags are rewritten to the tracks written (ngx_rtmp_record_node_close).
//
//   opening ──► open ──► closing ──► closed
//      │         │ write error          ▲
//      └─────────┴──────────────────────┘  (the handle is closed on every path)
import { open, type FileHandle } from 'node:fs/promises'
import { dirname } from 'node:path'
import { MSG_AUDIO, MSG_VIDEO } from '../media/message.js'
import {
  encodeFlvHeader, encodeFlvTagFrame, flvTagTimestamp, FLV_FLAG_AUDIO, FLV_FLAG_VIDEO, FLV_HEADER_BYTES, FLV_PREV_TAG_SIZE_BYTES,
  FLV_TAG_HEADER_BYTES,
} from '../flv/tag.js'
import { FsDeadlineError, type FsLimiter } from './fs-limit.js'

/** tags per writev: 3 iovecs each, within Linux's IOV_MAX (1024) */
const TAGS_PER_WRITE = 300
/** the FLV header's TypeFlags byte: audio 0x04, video 0x01 */
const FLV_FLAGS_OFFSET = 4

const enum FileState { Opening, Open, Closing, Closed }

interface QueuedTag {
  readonly typeId: number
  /** relative to the file's first frame; the append shift is added when written */
  readonly timestamp: number
  readonly payload: Buffer
}

export interface FlvFileOptions {
  readonly append: boolean
  /** opened once this resolves: the previous file of the same name is closed (a rotation within one second) */
  readonly after: Promise<void> | null
  readonly hasAudio: boolean
  readonly hasVideo: boolean
  /** recording's share of the threadpool, shared by every file */
  readonly fs: FsLimiter
  /** a write (or the close) failed: the file is closed and takes nothing more; called once */
  readonly onWriteError: (err: NodeJS.ErrnoException) => void
}

export class FlvFile {
  /** bytes of tags handed over and not yet written */
  queuedBytes = 0
  /** bytes in the file: what it held when appended to, and what was written since */
  sizeBytes = 0
  /** settles once the open is done: null, or why it failed (the file is then closed) */
  readonly opened: Promise<NodeJS.ErrnoException | null>
  /** resolves once the handle is closed, whatever happened */
  readonly closed: Promise<void>
  private state = FileState.Opening
  private handle: FileHandle | null = null
  /** tags, and the file header first for a new file */
  private queue: (QueuedTag | Buffer)[] = []
  private writing = false
  /** record_append: the timestamp written tags start from (after the file's last tag) */
  private shiftMs = 0
  private resolveClosed!: () => void
  /** onWriteError was called: once per file */
  private reported = false
  /** the FLV header's flags byte as written at the open; null when appended to an existing file */
  private headerFlags: number | null = null
  /** FLV_FLAG_AUDIO / FLV_FLAG_VIDEO of the tags handed over */
  private tracks = 0

  /** the file's directory: its disk, for FsLimiter */
  private readonly dir: string

  constructor(readonly path: string, private readonly opts: FlvFileOptions) {
    this.dir = dirname(path)
    this.closed = new Promise((resolve) => { this.resolveClosed = resolve })
    this.opened = this.open()
  }

  /** Queue a tag (timestamp relative to the file's start); nothing happens once it failed or closed. */
  write(typeId: number, timestamp: number, payload: Buffer): void {
    if (this.state === FileState.Closing || this.state === FileState.Closed) return
    this.queue.push({ typeId, timestamp, payload })
    this.tracks |= typeId === MSG_AUDIO ? FLV_FLAG_AUDIO : typeId === MSG_VIDEO ? FLV_FLAG_VIDEO : 0
    this.queuedBytes += FLV_TAG_HEADER_BYTES + payload.length + FLV_PREV_TAG_SIZE_BYTES
    this.pump()
  }

  /** Write what is queued, then close the handle; `closed` resolves then. */
  close(): Promise<void> {
    if (this.state === FileState.Opening || this.state === FileState.Open) {
      this.state = FileState.Closing
      this.pump()
    }
    return this.closed
  }

  private async open(): Promise<NodeJS.ErrnoException | null> {
    if (this.opts.after !== null) await this.opts.after
    let handle: FileHandle | null = null
    let abandoned = false
    try {
      await this.opts.fs.run(this.dir, async () => {
        // nginx-rtmp: O_APPEND with record_append, else O_TRUNC
        handle = await open(this.path, this.opts.append ? 'a+' : 'w')
        if (abandoned) return
        if (this.opts.append) this.sizeBytes = (await handle.stat()).size
        if (this.sizeBytes > 0) this.shiftMs = await lastTimestampAfter(handle, this.sizeBytes)
      }, () => this.finish(handle, false))
    } catch (err) {
      this.reported = true // the open's failure is the one reported
      if (err instanceof FsDeadlineError && !err.refused) {
        abandoned = true // the handle is closed when the open returns
        this.drop()
      } else this.finish(handle, false)
      return err as NodeJS.ErrnoException
    }
    if (this.sizeBytes === 0) {
      // written first, with the tags (a full disk is a write error, not an open error)
      const header = encodeFlvHeader(this.opts.hasAudio, this.opts.hasVideo)
      if (!this.opts.append) this.headerFlags = header[4]
      this.queue.unshift(header)
      this.queuedBytes += header.length
    }
    this.handle = handle
    if (this.state === FileState.Opening) this.state = FileState.Open
    this.pump()
    return null
  }

  // One writev at a time, of what queued meanwhile; when closing and drained, the close.
  private pump(): void {
    if (this.writing || this.handle === null || this.state === FileState.Closed) return
    if (this.queue.length === 0) {
      if (this.state === FileState.Closing) this.finish(this.handle, true)
      return
    }
    const batch = this.queue.length <= TAGS_PER_WRITE ? this.queue : this.queue.slice(0, TAGS_PER_WRITE)
    this.queue = batch === this.queue ? [] : this.queue.slice(TAGS_PER_WRITE)
    const parts: Buffer[] = []
    let bytes = 0
    for (const tag of batch) {
      if (Buffer.isBuffer(tag)) {
        parts.push(tag)
        bytes += tag.length
        continue
      }
      const { head, tail } = encodeFlvTagFrame(tag.typeId, tag.timestamp + this.shiftMs, tag.payload.length)
      parts.push(head, tag.payload, tail)
      bytes += head.length + tag.payload.length + tail.length
    }
    this.writing = true
    const handle = this.handle
    this.opts.fs.run(this.dir, () => writeAll(handle, parts), () => this.finish(handle, false)).then(() => {
      this.writing = false
      this.queuedBytes -= bytes
      this.sizeBytes += bytes
      this.pump()
    }, (err: unknown) => {
      this.writing = false
      this.report(err as NodeJS.ErrnoException)
      if (err instanceof FsDeadlineError && !err.refused) this.drop() // the handle is closed when the write returns
      else this.finish(handle, false)
    })
  }

  private report(err: NodeJS.ErrnoException): void {
    if (this.reported) return
    this.reported = true
    this.opts.onWriteError(err)
  }

  /** Nothing more is written; the handle is left to whoever closes it. */
  private drop(): void {
    this.state = FileState.Closed
    this.handle = null
    this.queue = []
    this.queuedBytes = 0
  }

  /** Close `handle` (after rewriting the header's flags when everything was written); `closed` resolves then. */
  private finish(handle: FileHandle | null, written: boolean): void {
    this.drop()
    if (handle === null) {
      this.resolveClosed()
      return
    }
    const h: FileHandle = handle
    // ngx_rtmp_record_node_close: the flags byte says which tracks the file holds. An appended
    // file keeps its header (with O_APPEND a positional write would land at the end).
    const flags = written && this.headerFlags !== null && this.tracks !== this.headerFlags ? Buffer.of(this.tracks) : null
    // a handle is closed whatever its directory's state (not refused)
    this.opts.fs.run(this.dir, async () => {
      try {
        if (flags !== null) await h.write(flags, 0, 1, FLV_FLAGS_OFFSET)
      } finally {
        await h.close()
      }
    }, () => this.resolveClosed(), false).then(() => this.resolveClosed(), (err: unknown) => {
      this.report(err as NodeJS.ErrnoException)
      if (!(err instanceof FsDeadlineError)) this.resolveClosed() // else when the close returns
    })
  }
}

/** Write every byte of `parts`; a short write goes on with the rest (and meets the error, ENOSPC). */
async function writeAll(handle: FileHandle, parts: Buffer[]): Promise<void> {
  let rest = parts
  while (rest.length > 0) {
    let { bytesWritten } = await handle.writev(rest)
    const next: Buffer[] = []
    for (const b of rest) {
      if (bytesWritten >= b.length) bytesWritten -= b.length
      else {
        next.push(bytesWritten === 0 ? b : b.subarray(bytesWritten))
        bytesWritten = 0
      }
    }
    rest = next
  }
}

/** tags read back from the end of an appended file: audio and video interleave a little */
const APPEND_SCAN_TAGS = 32

/**
 * record_append: the latest timestamp among the file's last tags, found through their
 * PreviousTagSize chain backwards; the next tags start 1 ms after it, so each track's
 * timestamps go on rising (nginx-rtmp reads only the last tag, whose track may lag the other).
 * A file that does not end in whole tags continues from 0.
 */
async function lastTimestampAfter(handle: FileHandle, size: number): Promise<number> {
  const first = FLV_HEADER_BYTES + FLV_PREV_TAG_SIZE_BYTES
  const prev = Buffer.alloc(FLV_PREV_TAG_SIZE_BYTES)
  const header = Buffer.alloc(FLV_TAG_HEADER_BYTES)
  let end = size
  let latest = -1
  for (let i = 0; i < APPEND_SCAN_TAGS && end - FLV_PREV_TAG_SIZE_BYTES - FLV_TAG_HEADER_BYTES >= first; i++) {
    await handle.read(prev, 0, prev.length, end - FLV_PREV_TAG_SIZE_BYTES)
    const tagBytes = prev.readUInt32BE(0)
    const at = end - FLV_PREV_TAG_SIZE_BYTES - tagBytes
    if (tagBytes < FLV_TAG_HEADER_BYTES || at < first) break
    await handle.read(header, 0, header.length, at)
    latest = Math.max(latest, flvTagTimestamp(header))
    end = at
  }
  return latest < 0 ? 0 : (latest + 1) >>> 0
}
