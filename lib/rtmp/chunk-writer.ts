// RTMP message → chunks (RTMP 1.0 §5.3), in one Buffer: a fmt-0 header, then the payload cut
// at the chunk size with a fmt-3 header before each further piece. Encoded once per message
// and chunk size, then written to every player of that chunk size (STYLE rule 4).
import { EXTENDED_TIMESTAMP } from './constants.js'

function basicHeaderBytes(csid: number): number {
  return csid < 64 ? 1 : csid < 320 ? 2 : 3
}

function writeBasicHeader(out: Buffer, at: number, fmt: number, csid: number): number {
  // RTMP 5.3.1.1: csid 2..63 in one byte; 64..319 as 0 + (csid - 64); else 1 + 16-bit LE
  if (csid < 64) {
    out[at] = (fmt << 6) | csid
    return at + 1
  }
  if (csid < 320) {
    out[at] = fmt << 6
    out[at + 1] = csid - 64
    return at + 2
  }
  out[at] = (fmt << 6) | 1
  out.writeUInt16LE(csid - 64, at + 1)
  return at + 3
}

/** Size of the chunked form of a message, for callers that write into their own buffer. */
export function chunkedLength(csid: number, timestamp: number, payloadBytes: number, chunkSize: number): number {
  const basic = basicHeaderBytes(csid)
  const ext = timestamp >= EXTENDED_TIMESTAMP ? 4 : 0
  const pieces = Math.max(1, Math.ceil(payloadBytes / chunkSize))
  return basic + 11 + ext + payloadBytes + (pieces - 1) * (basic + ext)
}

/**
 * Encode a message as chunks. Continuation chunks repeat the extended timestamp when there
 * is one (play_time_fix on, what ffmpeg and Flash expect).
 */
export function encodeChunks(
  csid: number,
  typeId: number,
  streamId: number,
  timestamp: number,
  payload: Buffer,
  chunkSize: number,
): Buffer {
  const ts = timestamp >>> 0
  const extended = ts >= EXTENDED_TIMESTAMP
  const out = Buffer.allocUnsafe(chunkedLength(csid, ts, payload.length, chunkSize))
  let at = writeBasicHeader(out, 0, 0, csid)
  out.writeUIntBE(extended ? EXTENDED_TIMESTAMP : ts, at, 3)
  out.writeUIntBE(payload.length, at + 3, 3)
  out[at + 6] = typeId
  out.writeUInt32LE(streamId, at + 7)
  at += 11
  if (extended) at = out.writeUInt32BE(ts, at)
  let from = 0
  for (;;) {
    const n = Math.min(chunkSize, payload.length - from)
    payload.copy(out, at, from, from + n)
    at += n
    from += n
    if (from >= payload.length) break
    at = writeBasicHeader(out, at, 3, csid)
    if (extended) at = out.writeUInt32BE(ts, at)
  }
  return out
}
