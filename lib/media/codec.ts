// Classify FLV/RTMP audio and video bodies (the payload of message types 8 and 9) by reading
// their first bytes in place: nothing is copied and nothing is decoded beyond the tag header.
//
// Legacy video tag header (FLV 10.1 §E.4.3.1): UB[4] FrameType | UB[4] CodecID, then for AVC
// (and HEVC under `hevc_codecid`) UI8 AVCPacketType (0 sequence header, 1 NALU, 2 end of
// sequence). Enhanced RTMP (veovera E-RTMP v2, "ExVideoTagHeader"): the top bit of byte 0 is
// IsExVideoHeader, then UB[3] FrameType and UB[4] VideoPacketType, then a FourCC. PingOS drops
// every ex-header packet (spec §7.1); edge passes them through (spec/README compatibility
// policy), which is why they are recognised here.

/** VideoFrameType (FLV 10.1 §E.4.3.1, E-RTMP v2) */
export const VIDEO_FRAME_KEY = 1
export const VIDEO_FRAME_INTER = 2
export const VIDEO_FRAME_DISPOSABLE = 3
export const VIDEO_FRAME_GENERATED_KEY = 4
export const VIDEO_FRAME_COMMAND = 5

/** legacy CodecID values */
export const VIDEO_CODEC_AVC = 7
/** `hevc_codecid` default: the legacy CodecID taken to mean H.265 (not in Adobe's FLV spec) */
export const DEFAULT_HEVC_CODEC_ID = 12

/** AVCPacketType (FLV 10.1 §E.4.3.1), also used by legacy HEVC */
export const AVC_SEQUENCE_HEADER = 0
export const AVC_NALU = 1
export const AVC_END_OF_SEQUENCE = 2

/** VideoPacketType of an E-RTMP ex-header */
export const VIDEO_PACKET_SEQUENCE_START = 0
export const VIDEO_PACKET_CODED_FRAMES = 1
export const VIDEO_PACKET_SEQUENCE_END = 2
export const VIDEO_PACKET_CODED_FRAMES_X = 3
export const VIDEO_PACKET_METADATA = 4
export const VIDEO_PACKET_MPEG2TS_SEQUENCE_START = 5
export const VIDEO_PACKET_MULTITRACK = 6
export const VIDEO_PACKET_MOD_EX = 7

/** SoundFormat (FLV 10.1 §E.4.2.1; 9 is E-RTMP's ExHeader) */
export const SOUND_FORMAT_MP3 = 2
export const SOUND_FORMAT_EX_HEADER = 9
export const SOUND_FORMAT_AAC = 10
/** AACPacketType */
export const AAC_SEQUENCE_HEADER = 0
export const AAC_RAW = 1

/** AudioPacketType of an E-RTMP ex-header */
export const AUDIO_PACKET_SEQUENCE_START = 0
export const AUDIO_PACKET_MULTITRACK = 5
export const AUDIO_PACKET_MOD_EX = 7

/** ModEx chains longer than this are treated as unrecognised (E-RTMP defines one ModEx type) */
const MAX_MOD_EX = 8

export type VideoCodec = 'avc' | 'hevc' | 'av1' | 'vp9' | 'other'

export interface VideoInfo {
  /** 1 key, 2 inter, 3 disposable, 4 generated key, 5 info/command */
  readonly frameType: number
  /** frameType is 1 (a sequence header is a keyframe too; check sequenceHeader) */
  readonly keyframe: boolean
  /** decoder configuration: AVC/HEVC packet type 0, or E-RTMP SequenceStart */
  readonly sequenceHeader: boolean
  readonly codec: VideoCodec
  /** the E-RTMP ex-header bit was set */
  readonly enhanced: boolean
  /** legacy CodecID, or the FourCC string ('' when the packet carries none) */
  readonly codecId: number | string
  /** AVC/HEVC end of sequence, or E-RTMP SequenceEnd */
  readonly sequenceEnd: boolean
}

export interface AudioInfo {
  /** SoundFormat (10 AAC, 2 MP3, 9 E-RTMP ex-header, ...) */
  readonly codecId: number
  /** AAC packet type 0, or E-RTMP audio SequenceStart */
  readonly sequenceHeader: boolean
}

/** FourCCs as big-endian 32-bit numbers, as they appear on the wire */
const FOURCC_AVC1 = 0x61766331
const FOURCC_HVC1 = 0x68766331
const FOURCC_AV01 = 0x61763031
const FOURCC_VP09 = 0x76703039

const FOURCC_CODECS: ReadonlyMap<string, VideoCodec> = new Map([
  ['avc1', 'avc'],
  ['hvc1', 'hevc'],
  ['av01', 'av1'],
  ['vp09', 'vp9'],
])

/**
 * Classify a video body. `hevcCodecId` is `hevc_codecid`: the legacy CodecID that means
 * H.265. Returns null only for an empty payload; a truncated header yields what it holds.
 */
export function inspectVideo(payload: Buffer, hevcCodecId: number = DEFAULT_HEVC_CODEC_ID): VideoInfo | null {
  if (payload.length === 0) return null
  const b0 = payload[0]
  if ((b0 & 0x80) === 0) return inspectLegacyVideo(payload, b0, hevcCodecId)

  const frameType = (b0 >> 4) & 7
  let packetType = b0 & 15
  const at = skipModEx(payload, 1, packetType, VIDEO_PACKET_MOD_EX)
  if (at < 0) return exVideo(frameType, -1, '')
  if (at > 1) packetType = payload[at - 1] & 15
  // E-RTMP: a command frame (unless it is Metadata) carries a UI8 VideoCommand, no FourCC
  if (packetType !== VIDEO_PACKET_METADATA && frameType === VIDEO_FRAME_COMMAND) return exVideo(frameType, -1, '')
  let fourCcAt = at
  if (packetType === VIDEO_PACKET_MULTITRACK) {
    // UB[4] AvMultitrackType | UB[4] VideoPacketType, then the shared FourCC, or (with
    // ManyTracksManyCodecs, type 2) the first track's own FourCC: either way at that offset
    if (at >= payload.length) return exVideo(frameType, -1, '')
    packetType = payload[at] & 15
    fourCcAt = at + 1
  }
  return exVideo(frameType, packetType, fourCc(payload, fourCcAt))
}

function inspectLegacyVideo(payload: Buffer, b0: number, hevcCodecId: number): VideoInfo {
  const frameType = b0 >> 4
  const codecId = b0 & 15
  const codec: VideoCodec = codecId === VIDEO_CODEC_AVC ? 'avc' : codecId === hevcCodecId ? 'hevc' : 'other'
  // A video info/command frame (type 5) has a command byte where AVCPacketType would be.
  const packetType = codec !== 'other' && frameType !== VIDEO_FRAME_COMMAND && payload.length > 1 ? payload[1] : -1
  return {
    frameType,
    keyframe: frameType === VIDEO_FRAME_KEY,
    sequenceHeader: packetType === AVC_SEQUENCE_HEADER,
    codec,
    enhanced: false,
    codecId,
    sequenceEnd: packetType === AVC_END_OF_SEQUENCE,
  }
}

function exVideo(frameType: number, packetType: number, codecId: string): VideoInfo {
  return {
    frameType,
    keyframe: frameType === VIDEO_FRAME_KEY,
    // MPEG2TSSequenceStart is not counted: it is an alternative descriptor, and keeping it as
    // "the" sequence header would displace the real one.
    sequenceHeader: packetType === VIDEO_PACKET_SEQUENCE_START,
    codec: FOURCC_CODECS.get(codecId) ?? 'other',
    enhanced: true,
    codecId,
    sequenceEnd: packetType === VIDEO_PACKET_SEQUENCE_END,
  }
}

/** Classify an audio body. Returns null only for an empty payload. */
export function inspectAudio(payload: Buffer): AudioInfo | null {
  if (payload.length === 0) return null
  const b0 = payload[0]
  const codecId = b0 >> 4
  if (codecId === SOUND_FORMAT_AAC) {
    return { codecId, sequenceHeader: payload.length > 1 && payload[1] === AAC_SEQUENCE_HEADER }
  }
  if (codecId !== SOUND_FORMAT_EX_HEADER) return { codecId, sequenceHeader: false }
  // E-RTMP ExAudioTagHeader: the low nibble is AudioPacketType
  let packetType = b0 & 15
  const at = skipModEx(payload, 1, packetType, AUDIO_PACKET_MOD_EX)
  if (at < 0) return { codecId, sequenceHeader: false }
  if (at > 1) packetType = payload[at - 1] & 15
  if (packetType === AUDIO_PACKET_MULTITRACK) {
    if (at >= payload.length) return { codecId, sequenceHeader: false }
    packetType = payload[at] & 15
  }
  return { codecId, sequenceHeader: packetType === AUDIO_PACKET_SEQUENCE_START }
}

/**
 * E-RTMP v2 ModEx: while the packet type is ModEx, skip `UI8 + 1` bytes of data (`UI16 + 1`
 * when the 8-bit form reads 256) and read UB[4] ModExType | UB[4] PacketType. Returns the
 * offset just past the last such byte (the caller reads the packet type at offset - 1), the
 * unchanged offset when there is no ModEx, or -1 when the chain is truncated or too long.
 */
function skipModEx(payload: Buffer, at: number, packetType: number, modEx: number): number {
  for (let n = 0; packetType === modEx; n++) {
    if (n === MAX_MOD_EX || at >= payload.length) return -1
    let size = payload[at] + 1
    at += 1
    if (size === 256) {
      if (at + 2 > payload.length) return -1
      size = payload.readUInt16BE(at) + 1
      at += 2
    }
    at += size
    if (at >= payload.length) return -1
    packetType = payload[at] & 15
    at += 1
  }
  return at
}

/** The FourCC at `at` as a string ('' when the payload ends first). */
function fourCc(payload: Buffer, at: number): string {
  if (at + 4 > payload.length) return ''
  // the common ones without building a new string per message
  switch (payload.readUInt32BE(at)) {
    case FOURCC_HVC1: return 'hvc1'
    case FOURCC_AV01: return 'av01'
    case FOURCC_VP09: return 'vp09'
    case FOURCC_AVC1: return 'avc1'
    default: return payload.toString('latin1', at, at + 4)
  }
}
