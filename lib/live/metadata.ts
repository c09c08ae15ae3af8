// onMetaData as PingOS forwards it (§7.4): with `meta on` the server rebuilds its own object
// from the publisher's video fields, in a fixed key order, led by the server's name; with
// `meta copy` the publisher's values go on as they came.
//
// Metadata is hostile input like any other: its cost is linear in its size. The publisher's
// values are decoded once (references resolve to the object they name, never to a copy) and
// never re-encoded: `copy` forwards the publisher's own bytes after "@setDataFrame", and `on`
// encodes only the flat object it rebuilds. A message over MAX_METADATA_BYTES is refused.
import { decodeAmf0, decodeAmf0All, encodeAmf0, type AmfObject, type AmfValue } from '../amf/amf0.js'
import { ProtocolError } from '../core/errors.js'

/**
 * Largest onMetaData accepted (nginx-rtmp's default max_message); ffmpeg and OBS send under
 * 1 KiB. Decoding is linear, so this bounds the work per message whatever max_message is.
 */
export const MAX_METADATA_BYTES = 1024 * 1024

/** AMF0 §2.4 string marker: the only first value a data message naming a handler has */
const AMF0_STRING = 0x02

/** A data message as the stream keeps it, or why it was refused. */
export type MetadataResult =
  | { readonly kind: 'metadata', readonly body: Buffer, readonly values: AmfObject }
  | { readonly kind: 'refused', readonly reason: string }
  | { readonly kind: 'other' }

const OTHER = { kind: 'other' } as const

/**
 * Read an onMetaData data message body, with or without a leading "@setDataFrame" (as
 * FMLE/ffmpeg publish it). `body` is a view of the input starting at "onMetaData": dropping
 * the leading string renumbers no AMF0 reference (§2.9 counts objects only). Messages that
 * are not onMetaData, or that do not decode, are 'other' and ignored, as before.
 */
export function readMetadata(payload: Buffer): MetadataResult {
  try {
    if (payload[0] !== AMF0_STRING) return OTHER
    const [first, next] = decodeAmf0(payload, 0)
    let body = payload
    let name = first
    if (first === '@setDataFrame') {
      if (payload[next] !== AMF0_STRING) return OTHER
      body = payload.subarray(next)
      name = decodeAmf0(body, 0)[0]
    }
    if (name !== 'onMetaData') return OTHER
    if (payload.length > MAX_METADATA_BYTES) {
      return { kind: 'refused', reason: `metadata of ${payload.length} bytes refused (over ${MAX_METADATA_BYTES})` }
    }
    const values = decodeAmf0All(body)
    const o = values[1]
    const object = typeof o === 'object' && o !== null && !Array.isArray(o) && !(o instanceof Date) ? o as AmfObject : {}
    return { kind: 'metadata', body, values: object }
  } catch (err) {
    if (err instanceof ProtocolError) return OTHER
    throw err
  }
}

function num(o: AmfObject, key: string): number {
  const v: AmfValue = Object.hasOwn(o, key) ? o[key] : undefined
  return typeof v === 'number' ? v : 0
}

/**
 * The rebuilt onMetaData (§7.4): Server, width, height, displayWidth, displayHeight, duration,
 * framerate, fps, videodatarate, videocodecid, audiodatarate, audiocodecid, profile, level.
 * Audio fields, profile and level are not read from the publisher (PingOS leaves them 0/"").
 */
export function rebuildMetadata(o: AmfObject, serverName: string): Buffer {
  const frameRate = num(o, 'framerate') || num(o, 'fps')
  return encodeAmf0('onMetaData', {
    Server: serverName,
    width: num(o, 'width'),
    height: num(o, 'height'),
    displayWidth: num(o, 'width'),
    displayHeight: num(o, 'height'),
    duration: num(o, 'duration'),
    framerate: frameRate,
    fps: Math.floor(frameRate),
    videodatarate: num(o, 'videodatarate'),
    videocodecid: num(o, 'videocodecid'),
    audiodatarate: 0,
    audiocodecid: 0,
    profile: '',
    level: '',
  })
}
