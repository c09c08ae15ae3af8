// FLV file header and tag encoding (Adobe FLV 10.1 §E.2, §E.3, §E.4.1), as PingOS writes them
// to HTTP-FLV players (spec §8.5). A tag is encoded once per message into one Buffer and that
// same Buffer is queued to every HTTP-FLV player (STYLE rule 4).
import { ProtocolError } from '../core/errors.js'

/** 'F' 'L' 'V' */
export const FLV_SIGNATURE = 0x464c56
export const FLV_VERSION = 1
/** the FLV header proper: signature, version, flags, UI32 DataOffset */
export const FLV_HEADER_BYTES = 9
/** the DataOffset field: the header size PingOS writes and assumes */
export const FLV_DATA_OFFSET = FLV_HEADER_BYTES
export const FLV_PREV_TAG_SIZE_BYTES = 4
export const FLV_TAG_HEADER_BYTES = 11
/** TypeFlagsAudio and TypeFlagsVideo bits of the header's flags byte */
export const FLV_FLAG_AUDIO = 0x04
export const FLV_FLAG_VIDEO = 0x01
/** DataSize is UI24 */
export const FLV_MAX_DATA_BYTES = 0xffffff

/**
 * The 13 bytes a player receives first: `46 4C 56 01 <flags> 00 00 00 09` then
 * PreviousTagSize0 `00 00 00 00`. Flags: both 05, audio only 04, video only 01 (§8.5).
 */
export function encodeFlvHeader(hasAudio: boolean, hasVideo: boolean): Buffer {
  const out = Buffer.alloc(FLV_HEADER_BYTES + FLV_PREV_TAG_SIZE_BYTES)
  out.writeUIntBE(FLV_SIGNATURE, 0, 3)
  out[3] = FLV_VERSION
  out[4] = (hasAudio ? FLV_FLAG_AUDIO : 0) | (hasVideo ? FLV_FLAG_VIDEO : 0)
  out.writeUInt32BE(FLV_DATA_OFFSET, 5)
  return out
}

/** Bytes of an encoded tag: header, data and its PreviousTagSize. */
export function flvTagBytes(dataBytes: number): number {
  return FLV_TAG_HEADER_BYTES + dataBytes + FLV_PREV_TAG_SIZE_BYTES
}

/**
 * One FLV tag in one Buffer: TagType, UI24 DataSize, UI24 Timestamp + UI8 TimestampExtended
 * (the high 8 bits), UI24 StreamID 0, the data, then UI32 PreviousTagSize = DataSize + 11.
 * The timestamp wraps at 2^32 as RTMP's does. The payload is copied once, here.
 */
export function encodeFlvTag(typeId: number, timestamp: number, payload: Buffer): Buffer {
  const size = payload.length
  const out = Buffer.allocUnsafe(flvTagBytes(size))
  writeTagHeader(out, typeId, timestamp, size)
  // copy: the one copy per message, shared by every HTTP-FLV player
  payload.copy(out, FLV_TAG_HEADER_BYTES)
  out.writeUInt32BE(size + FLV_TAG_HEADER_BYTES, FLV_TAG_HEADER_BYTES + size)
  return out
}

/**
 * The parts of a tag around its data, for a vectored write that passes the payload by
 * reference (recording): the 11-byte header and the 4-byte PreviousTagSize, two views of one
 * 15-byte Buffer.
 */
export function encodeFlvTagFrame(typeId: number, timestamp: number, dataBytes: number): { head: Buffer, tail: Buffer } {
  const out = Buffer.alloc(FLV_TAG_HEADER_BYTES + FLV_PREV_TAG_SIZE_BYTES)
  writeTagHeader(out, typeId, timestamp, dataBytes)
  out.writeUInt32BE(dataBytes + FLV_TAG_HEADER_BYTES, FLV_TAG_HEADER_BYTES)
  return { head: out.subarray(0, FLV_TAG_HEADER_BYTES), tail: out.subarray(FLV_TAG_HEADER_BYTES) }
}

/** The timestamp of a tag header (UI24 + the extended high byte), read back (record_append). */
export function flvTagTimestamp(header: Buffer): number {
  return ((header[7] << 24) | (header[4] << 16) | (header[5] << 8) | header[6]) >>> 0
}

function writeTagHeader(out: Buffer, typeId: number, timestamp: number, size: number): void {
  if (size > FLV_MAX_DATA_BYTES) {
    throw new ProtocolError('ERR_FLV_FORMAT', `FLV tag data size ${size} exceeds ${FLV_MAX_DATA_BYTES}`)
  }
  const ts = timestamp >>> 0
  out[0] = typeId
  out[1] = size >>> 16
  out[2] = size >>> 8
  out[3] = size
  out[4] = ts >>> 16
  out[5] = ts >>> 8
  out[6] = ts
  out[7] = ts >>> 24
  out[8] = 0
  out[9] = 0
  out[10] = 0
}
