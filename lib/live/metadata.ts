// onMetaData as PingOS forwards it (§7.4): with `meta on` the server rebuilds its own object
// from the publisher's video fields, in a fixed key order, led by the server's name.
import { decodeAmf0All, encodeAmf0, type AmfObject, type AmfValue } from '../amf/amf0.js'
import { ProtocolError } from '../core/errors.js'

/**
 * The data message body without a leading "@setDataFrame" (as FMLE/ffmpeg publish it), or
 * null when it is not an onMetaData message or cannot be decoded.
 */
export function stripSetDataFrame(payload: Buffer): Buffer | null {
  let values: AmfValue[]
  try {
    values = decodeAmf0All(payload)
  } catch (err) {
    if (err instanceof ProtocolError) return null
    throw err
  }
  if (values[0] === '@setDataFrame') return values[1] === 'onMetaData' ? encodeAmf0(...values.slice(1)) : null
  return values[0] === 'onMetaData' ? payload : null
}

/** The publisher's metadata object from an onMetaData body. */
export function readMetadata(body: Buffer): AmfObject {
  const values = decodeAmf0All(body)
  const o = values[1]
  return typeof o === 'object' && o !== null && !Array.isArray(o) && !(o instanceof Date) ? o as AmfObject : {}
}

function num(o: AmfObject, key: string): number {
  const v = o[key]
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
