// Resumable RTMP chunk-stream parser (RTMP 1.0 §5.3). push() consumes whatever bytes have
// arrived and calls onMessage once per complete message. A message that fits in one chunk
// and one pushed buffer is handed over as a view of that buffer; a message spread over
// several chunks or pushes is assembled into one Buffer (the only copy).
import { ProtocolError } from '../core/errors.js'
import {
  DEFAULT_CHUNK_SIZE, EXTENDED_TIMESTAMP, MAX_CHUNK_SIZE, MSG_ABORT, MSG_SET_CHUNK_SIZE,
} from './constants.js'

export interface ChunkMessage {
  readonly csid: number
  readonly typeId: number
  readonly streamId: number
  /** milliseconds, 32-bit wrapping */
  readonly timestamp: number
  readonly payload: Buffer
}

export interface ChunkReaderOptions {
  /** max_message: a longer message is a protocol error (nginx-rtmp closes the session) */
  readonly maxMessageBytes: number
  /** max_streams: chunk stream ids must stay below it */
  readonly maxStreams: number
  /** publish_time_fix: type-3 chunks repeat the extended timestamp of their stream */
  readonly extendedOnType3: boolean
  readonly onMessage: (msg: ChunkMessage) => void
}

const enum State {
  Header,
  Body,
  Failed,
}

/** Message header length by chunk type fmt 0..3 (5.3.1.2). */
const MESSAGE_HEADER_BYTES = [11, 7, 3, 0] as const
const MAX_HEADER_BYTES = 3 + 11 + 4
/**
 * Messages one peer may have in progress at once, counted in max_message: a publisher
 * interleaves audio, video and data. Bounds what announced lengths reserve before bytes arrive.
 */
const MAX_PARTIAL_MESSAGES = 4

/** Per chunk stream: the last header values and the message being assembled. */
interface ChunkStream {
  timestamp: number
  /** delta applied when a message starts with a fmt 1..3 chunk (nginx-rtmp's dtime) */
  delta: number
  length: number
  typeId: number
  streamId: number
  /** the last fmt 0..2 header carried an extended timestamp */
  extended: boolean
  /** bytes of the current message received so far */
  received: number
  /** the message being assembled across chunks or pushes, or null */
  partial: Buffer | null
}

export class ChunkReader {
  private state = State.Header
  private chunkSize = DEFAULT_CHUNK_SIZE
  private readonly streams = new Map<number, ChunkStream>()
  private readonly header = Buffer.alloc(MAX_HEADER_BYTES)
  private headerHave = 0
  private headerNeed = 0
  /** the header's timestamp field has been read and the extended part sized */
  private headerSized = false
  private fmt = 0
  /** length of the basic header: 1, 2 or 3 bytes */
  private basicBytes = 1
  private csid = 0
  private current: ChunkStream | null = null
  /** payload bytes of the current chunk not yet consumed */
  private chunkLeft = 0

  constructor(private readonly opts: ChunkReaderOptions) {}

  /** the peer's chunk size, as its Set Chunk Size messages announced */
  get inChunkSize(): number {
    return this.chunkSize
  }

  /** Bytes held while assembling messages (for memory accounting). */
  get bytesBuffered(): number {
    let n = 0
    for (const s of this.streams.values()) if (s.partial !== null) n += s.length
    return n
  }

  push(buf: Buffer): void {
    let pos = 0
    while (pos < buf.length) {
      if (this.state === State.Header) {
        pos = this.readHeader(buf, pos)
      } else if (this.state === State.Body) {
        pos = this.readBody(buf, pos)
      } else {
        throw new ProtocolError('ERR_RTMP_CHUNK', 'chunk stream already failed')
      }
    }
  }

  private fail(code: 'ERR_RTMP_CHUNK' | 'ERR_RTMP_MESSAGE', message: string): never {
    this.state = State.Failed
    throw new ProtocolError(code, message)
  }

  // A header that lies whole in the pushed buffer is parsed where it is; one split across
  // pushes is gathered into a small scratch buffer first (at most 18 bytes), and parses the same.
  private readHeader(buf: Buffer, pos: number): number {
    if (this.headerHave === 0) {
      const b0 = buf[pos]
      this.fmt = b0 >> 6
      const low = b0 & 0x3f
      this.basicBytes = low === 0 ? 2 : low === 1 ? 3 : 1
      this.headerNeed = this.basicBytes + MESSAGE_HEADER_BYTES[this.fmt]
      this.headerSized = false
      const available = buf.length - pos
      if (available >= this.headerNeed) {
        const total = this.headerNeed + (this.sizeExtendedTimestamp(buf, pos) ? 4 : 0)
        if (available >= total) {
          this.finishHeader(buf, pos)
          return pos + total
        }
      }
    }
    const n = Math.min(this.headerNeed - this.headerHave, buf.length - pos)
    buf.copy(this.header, this.headerHave, pos, pos + n)
    this.headerHave += n
    pos += n
    if (this.headerHave < this.headerNeed) return pos
    if (!this.headerSized) {
      this.headerSized = true
      if (this.sizeExtendedTimestamp(this.header, 0)) {
        this.headerNeed += 4
        return pos
      }
    }
    this.headerHave = 0
    this.finishHeader(this.header, 0)
    return pos
  }

  /** Parse the basic header at `h[at]`; true when 4 extended-timestamp bytes follow the message header. */
  private sizeExtendedTimestamp(h: Buffer, at: number): boolean {
    const low = h[at] & 0x3f
    // RTMP 5.3.1.1: csid 0 → 2-byte form, 64 + b1; csid 1 → 3-byte form, 64 + b1 + b2 * 256
    this.csid = low === 0 ? 64 + h[at + 1] : low === 1 ? 64 + h[at + 1] + h[at + 2] * 256 : low
    if (this.csid >= this.opts.maxStreams) {
      this.fail('ERR_RTMP_CHUNK', `chunk stream id ${this.csid} >= max_streams ${this.opts.maxStreams}`)
    }
    let cs = this.streams.get(this.csid)
    if (cs === undefined) {
      cs = { timestamp: 0, delta: 0, length: 0, typeId: 0, streamId: 0, extended: false, received: 0, partial: null }
      this.streams.set(this.csid, cs)
    }
    this.current = cs
    if (this.fmt === 3) return cs.extended && this.opts.extendedOnType3
    return h.readUIntBE(at + this.basicBytes, 3) === EXTENDED_TIMESTAMP
  }

  /** Apply the complete header at `h[start]` to its chunk stream. */
  private finishHeader(h: Buffer, start: number): void {
    const cs = this.current as ChunkStream
    const at = start + this.basicBytes
    const { length, typeId } = cs
    if (this.fmt <= 2) {
      let time = h.readUIntBE(at, 3)
      cs.extended = time === EXTENDED_TIMESTAMP
      if (cs.extended) time = h.readUInt32BE(at + MESSAGE_HEADER_BYTES[this.fmt])
      if (this.fmt <= 1) {
        cs.length = h.readUIntBE(at + 3, 3)
        cs.typeId = h[at + 6]
        if (this.fmt === 0) cs.streamId = h.readUInt32LE(at + 7)
      }
      if (this.fmt === 0) {
        cs.timestamp = time
        cs.delta = 0
      } else {
        cs.delta = time
      }
    }
    if (cs.received > 0 && (cs.length !== length || cs.typeId !== typeId)) {
      // RTMP 5.3.1.2: type-3 chunks continue a message. A full header that keeps its length and
      // type continues it too, as nginx-rtmp and ffmpeg take it; one that changes them starts a
      // new message and the unfinished one is dropped (ffmpeg drops it as a size mismatch), so
      // a re-announced length never sizes a buffer that input does not fill.
      cs.partial = null
      cs.received = 0
    }
    if (cs.received === 0) {
      if (this.fmt !== 0) cs.timestamp = (cs.timestamp + cs.delta) >>> 0
      if (cs.length > this.opts.maxMessageBytes) {
        this.fail('ERR_RTMP_MESSAGE', `too big message: ${cs.length} > max_message ${this.opts.maxMessageBytes}`)
      }
      if (cs.length === 0) {
        this.emit(cs, Buffer.alloc(0))
        return
      }
    }
    this.chunkLeft = Math.min(this.chunkSize, cs.length - cs.received)
    this.state = State.Body
  }

  private readBody(buf: Buffer, pos: number): number {
    const cs = this.current as ChunkStream
    const available = buf.length - pos
    if (cs.received === 0 && this.chunkLeft === cs.length && available >= cs.length) {
      // the whole message is in this chunk and this buffer: hand over a view
      const payload = buf.subarray(pos, pos + cs.length)
      this.state = State.Header
      this.emit(cs, payload)
      return pos + payload.length
    }
    // copy: the message spans chunks or pushes
    if (cs.partial === null) {
      if (this.bytesBuffered + cs.length > this.opts.maxMessageBytes * MAX_PARTIAL_MESSAGES) {
        this.fail('ERR_RTMP_MESSAGE', `messages in progress would hold over ${MAX_PARTIAL_MESSAGES} × max_message ${this.opts.maxMessageBytes}`)
      }
      cs.partial = Buffer.allocUnsafe(cs.length)
    }
    const n = Math.min(this.chunkLeft, available)
    buf.copy(cs.partial, cs.received, pos, pos + n)
    cs.received += n
    this.chunkLeft -= n
    if (this.chunkLeft === 0) {
      this.state = State.Header
      if (cs.received === cs.length) {
        const payload = cs.partial
        cs.partial = null
        cs.received = 0
        this.emit(cs, payload)
      }
    }
    return pos + n
  }

  private emit(cs: ChunkStream, payload: Buffer): void {
    cs.received = 0
    if (cs.typeId === MSG_SET_CHUNK_SIZE) this.applyChunkSize(payload)
    else if (cs.typeId === MSG_ABORT && payload.length >= 4) this.abort(payload.readUInt32BE(0))
    this.opts.onMessage({ csid: this.csid, typeId: cs.typeId, streamId: cs.streamId, timestamp: cs.timestamp, payload })
  }

  private applyChunkSize(payload: Buffer): void {
    if (payload.length < 4) this.fail('ERR_RTMP_CHUNK', 'short Set Chunk Size message')
    const size = payload.readUInt32BE(0)
    // RTMP 5.4.1: 1 .. 2^31-1, the top bit must be zero
    if (size === 0 || size > MAX_CHUNK_SIZE) this.fail('ERR_RTMP_CHUNK', `invalid chunk size ${size}`)
    this.chunkSize = size
  }

  private abort(csid: number): void {
    const cs = this.streams.get(csid)
    if (cs === undefined) return
    cs.partial = null
    cs.received = 0
  }
}
