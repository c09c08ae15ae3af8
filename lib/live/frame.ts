// A media message as the hub keeps it: classified once, encoded at most once per output
// format, and the same encoded Buffer written to every player of that format (STYLE rule 4).
import { encodeFlvTag } from '../flv/tag.js'
import { inspectAudio, inspectVideo } from '../media/codec.js'
import { MSG_AUDIO, MSG_VIDEO, type MediaMessage } from '../media/message.js'
import { CSID_AUDIO, CSID_STATUS, CSID_VIDEO, STREAM_ID } from '../rtmp/constants.js'
import { encodeChunks } from '../rtmp/chunk-writer.js'

export type OutputFormat = 'rtmp' | 'flv'

export class Frame {
  /** video keyframe (frame type 1) */
  readonly keyframe: boolean
  /** AVC/HEVC/enhanced sequence start or AAC sequence header */
  readonly sequenceHeader: boolean
  private rtmpBytes: Buffer | null = null
  /** the last re-timed RTMP encoding (push legs after a change of publisher): its timestamp and chunks */
  private retimedTs = -1
  private retimedBytes: Buffer | null = null
  private flvBytes: Buffer | null = null
  private flvHeadBytes: Buffer | null = null

  constructor(
    readonly msg: MediaMessage,
    /** the stream's outgoing RTMP chunk size */
    private readonly chunkSize: number,
    hevcCodecId: number,
  ) {
    if (msg.typeId === MSG_VIDEO) {
      const v = inspectVideo(msg.payload, hevcCodecId)
      this.keyframe = v !== null && v.keyframe && !v.sequenceHeader
      this.sequenceHeader = v !== null && v.sequenceHeader
    } else if (msg.typeId === MSG_AUDIO) {
      const a = inspectAudio(msg.payload)
      this.keyframe = false
      this.sequenceHeader = a !== null && a.sequenceHeader
    } else {
      this.keyframe = false
      this.sequenceHeader = false
    }
  }

  get isVideo(): boolean { return this.msg.typeId === MSG_VIDEO }
  get isAudio(): boolean { return this.msg.typeId === MSG_AUDIO }
  get timestamp(): number { return this.msg.timestamp }

  /** RTMP chunks (audio on csid 6, video on 7, data on 5, message stream 1), built once */
  get rtmp(): Buffer {
    if (this.rtmpBytes === null) {
      const t = this.msg.typeId
      const csid = t === MSG_AUDIO ? CSID_AUDIO : t === MSG_VIDEO ? CSID_VIDEO : CSID_STATUS
      this.rtmpBytes = encodeChunks(csid, t, STREAM_ID, this.msg.timestamp, this.msg.payload, this.chunkSize)
    }
    return this.rtmpBytes
  }

  /**
   * RTMP chunks of this message at another timestamp: the push legs whose timestamps were shifted
   * by the same amount share one encoding (the last one asked for).
   */
  rtmpAt(timestamp: number): Buffer {
    if (timestamp === this.msg.timestamp) return this.rtmp
    if (this.retimedBytes === null || this.retimedTs !== timestamp) {
      const t = this.msg.typeId
      const csid = t === MSG_AUDIO ? CSID_AUDIO : t === MSG_VIDEO ? CSID_VIDEO : CSID_STATUS
      this.retimedBytes = encodeChunks(csid, t, STREAM_ID, timestamp, this.msg.payload, this.chunkSize)
      this.retimedTs = timestamp
    }
    return this.retimedBytes
  }

  /** one FLV tag with its PreviousTagSize, built once */
  get flv(): Buffer {
    if (this.flvBytes === null) this.flvBytes = encodeFlvTag(this.msg.typeId, this.msg.timestamp, this.msg.payload)
    return this.flvBytes
  }

  /** the HTTP chunk-size line for the FLV tag (chunked transfer encoding), built once */
  get flvChunkHead(): Buffer {
    if (this.flvHeadBytes === null) this.flvHeadBytes = Buffer.from(`${this.flv.length.toString(16)}\r\n`, 'latin1')
    return this.flvHeadBytes
  }
}
