// Resumable FLV reader for the body of an HTTP-FLV origin (relay/flv-pull). push() consumes
// whatever bytes have arrived; drain() hands over the tags completed so far.
//
//   HEADER (9) ─► PREV_TAG_SIZE (4) ─► TAG_HEADER (11) ─► TAG_BODY (DataSize) ─┐
//                      ▲                                                       │
//                      └───────────────────────────────────────────────────────┘
//   any violation ─► FAILED (every later push throws)
//
// Checks are PingOS's (spec §2.3, ngx_live_relay_httpflv): "FLV" signature, version 1, the
// UI32 header size read but 9 assumed, PreviousTagSize0 = 0, every later PreviousTagSize =
// DataSize + 11 of the tag before it, tag types 8/9/18 only. A tag body that lies within one
// pushed chunk is handed over as a view of that chunk; only a body split across pushes is
// assembled into a Buffer of its own.
import { ProtocolError } from '../core/errors.js'
import { MSG_AUDIO, MSG_DATA_AMF0, MSG_VIDEO } from '../media/message.js'
import {
  FLV_HEADER_BYTES, FLV_PREV_TAG_SIZE_BYTES, FLV_SIGNATURE, FLV_TAG_HEADER_BYTES, FLV_VERSION,
} from './tag.js'

/** default maxTagBytes: 16 MiB, above any UI24 DataSize */
export const FLV_DEFAULT_MAX_TAG_BYTES = 16 * 1024 * 1024

export type FlvTagType = typeof MSG_AUDIO | typeof MSG_VIDEO | typeof MSG_DATA_AMF0

/** A parsed tag; its shape is a MediaMessage, so it can be published as one. */
export interface FlvTag {
  readonly typeId: FlvTagType
  /** milliseconds: Timestamp | TimestampExtended << 24 */
  readonly timestamp: number
  /** the tag data: a view of a pushed chunk unless the tag spanned chunks */
  readonly payload: Buffer
}

export interface FlvReaderOptions {
  /** largest tag DataSize accepted; a larger one is ERR_FLV_FORMAT (default 16 MiB) */
  readonly maxTagBytes?: number
}

export enum FlvReaderState {
  HEADER,
  PREV_TAG_SIZE,
  TAG_HEADER,
  TAG_BODY,
  FAILED,
}

/** Bytes each fixed-size state reads before it can be parsed. */
const FIXED_BYTES: Readonly<Record<number, number>> = {
  [FlvReaderState.HEADER]: FLV_HEADER_BYTES,
  [FlvReaderState.PREV_TAG_SIZE]: FLV_PREV_TAG_SIZE_BYTES,
  [FlvReaderState.TAG_HEADER]: FLV_TAG_HEADER_BYTES,
}

export class FlvReader {
  private current = FlvReaderState.HEADER
  private readonly maxTagBytes: number
  /** a header or PreviousTagSize split across pushes is gathered here (at most 11 bytes) */
  private readonly scratch = Buffer.alloc(FLV_TAG_HEADER_BYTES)
  private scratchHave = 0
  /** what the next PreviousTagSize must be: 0 first, then the last tag's DataSize + 11 */
  private expectedPrevTagSize = 0
  private tagType: FlvTagType = MSG_AUDIO
  private tagTimestamp = 0
  private tagDataBytes = 0
  /** the body of a tag that spans pushes, and how much of it has arrived */
  private partial: Buffer | null = null
  private partialHave = 0
  private tags: FlvTag[] = []
  private queuedBytes = 0

  constructor(opts: FlvReaderOptions = {}) {
    this.maxTagBytes = opts.maxTagBytes ?? FLV_DEFAULT_MAX_TAG_BYTES
  }

  get state(): FlvReaderState {
    return this.current
  }

  /**
   * Bytes this reader holds (for memory accounting): the body being assembled, a partial
   * header, and the payloads of tags parsed but not yet drained.
   */
  get bytesBuffered(): number {
    return (this.partial === null ? 0 : this.partial.length) + this.scratchHave + this.queuedBytes
  }

  /**
   * Consume a chunk of the body. Throws ProtocolError ERR_FLV_FORMAT on the first violation
   * and on every push after it; tags completed before the violation can still be drained.
   * The chunk must not be changed afterwards: tag payloads may be views of it.
   */
  push(chunk: Buffer): void {
    if (this.current === FlvReaderState.FAILED) this.fail('FLV reader already failed')
    let pos = 0
    while (pos < chunk.length) {
      pos = this.current === FlvReaderState.TAG_BODY ? this.readBody(chunk, pos) : this.readFixed(chunk, pos)
    }
  }

  /** The tags completed since the last drain, in stream order. */
  drain(): FlvTag[] {
    const out = this.tags
    this.tags = []
    this.queuedBytes = 0
    return out
  }

  private fail(message: string): never {
    this.current = FlvReaderState.FAILED
    this.partial = null
    throw new ProtocolError('ERR_FLV_FORMAT', message)
  }

  /** HEADER, PREV_TAG_SIZE, TAG_HEADER: parse in place when whole, else gather first. */
  private readFixed(chunk: Buffer, pos: number): number {
    const need = FIXED_BYTES[this.current]
    if (this.scratchHave === 0 && chunk.length - pos >= need) {
      this.parseFixed(chunk, pos)
      return this.afterFixed(chunk, pos + need)
    }
    const n = Math.min(need - this.scratchHave, chunk.length - pos)
    chunk.copy(this.scratch, this.scratchHave, pos, pos + n)
    this.scratchHave += n
    pos += n
    if (this.scratchHave < need) return pos
    this.scratchHave = 0
    this.parseFixed(this.scratch, 0)
    return this.afterFixed(chunk, pos)
  }

  private parseFixed(buf: Buffer, at: number): void {
    switch (this.current) {
      case FlvReaderState.HEADER: return this.parseHeader(buf, at)
      case FlvReaderState.PREV_TAG_SIZE: return this.parsePrevTagSize(buf, at)
      default: return this.parseTagHeader(buf, at)
    }
  }

  private parseHeader(buf: Buffer, at: number): void {
    if (buf.readUIntBE(at, 3) !== FLV_SIGNATURE) {
      this.fail(`bad FLV signature ${buf.subarray(at, at + 3).toString('hex')}`)
    }
    if (buf[at + 3] !== FLV_VERSION) this.fail(`unsupported FLV version ${buf[at + 3]}`)
    // at + 4: TypeFlags, not checked. at + 5: UI32 DataOffset, read by PingOS and then
    // ignored: the header is taken to be 9 bytes whatever it says.
    this.current = FlvReaderState.PREV_TAG_SIZE
  }

  private parsePrevTagSize(buf: Buffer, at: number): void {
    const size = buf.readUInt32BE(at)
    if (size !== this.expectedPrevTagSize) {
      this.fail(`FLV PreviousTagSize ${size}, expected ${this.expectedPrevTagSize}`)
    }
    this.current = FlvReaderState.TAG_HEADER
  }

  private parseTagHeader(buf: Buffer, at: number): void {
    const type = buf[at]
    if (type !== MSG_AUDIO && type !== MSG_VIDEO && type !== MSG_DATA_AMF0) this.fail(`unsupported FLV tag type ${type}`)
    const size = buf.readUIntBE(at + 1, 3)
    if (size > this.maxTagBytes) this.fail(`FLV tag data size ${size} exceeds ${this.maxTagBytes}`)
    this.tagType = type
    this.tagDataBytes = size
    // FLV 10.1 §E.4.1: UI24 Timestamp, then UI8 TimestampExtended = the upper 8 bits
    this.tagTimestamp = buf[at + 7] * 0x1000000 + buf.readUIntBE(at + 4, 3)
    // at + 8: UI24 StreamID, always 0, not checked (nor is it by PingOS)
    this.expectedPrevTagSize = size + FLV_TAG_HEADER_BYTES
    this.current = FlvReaderState.TAG_BODY
  }

  /** An empty tag has no body state to pass through: emit it here. */
  private afterFixed(chunk: Buffer, pos: number): number {
    if (this.current === FlvReaderState.TAG_BODY && this.tagDataBytes === 0) this.emit(chunk.subarray(pos, pos))
    return pos
  }

  private readBody(chunk: Buffer, pos: number): number {
    const size = this.tagDataBytes
    const available = chunk.length - pos
    if (this.partial === null) {
      if (available >= size) {
        // the whole body is in this chunk: hand over a view
        this.emit(chunk.subarray(pos, pos + size))
        return pos + size
      }
      // copy: tag spans 2 or more chunks
      this.partial = Buffer.allocUnsafe(size)
      this.partialHave = 0
    }
    const n = Math.min(size - this.partialHave, available)
    chunk.copy(this.partial, this.partialHave, pos, pos + n)
    this.partialHave += n
    if (this.partialHave === size) {
      const payload = this.partial
      this.partial = null
      this.emit(payload)
    }
    return pos + n
  }

  private emit(payload: Buffer): void {
    this.tags.push({ typeId: this.tagType, timestamp: this.tagTimestamp, payload })
    this.queuedBytes += payload.length
    this.current = FlvReaderState.PREV_TAG_SIZE
  }
}
