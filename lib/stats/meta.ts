// rtmp_stat's <meta> (§9.1): what a player would want to know of a stream's codecs, read from the
// publisher's onMetaData values and sequence headers, with nginx-rtmp's names for codecs and
// profiles (its codec module's tables, from the FLV and ISO 14496 specs).
import type { AmfObject } from '../amf/value.js'
import { inspectAudio, inspectVideo, SOUND_FORMAT_AAC } from '../media/codec.js'

export interface VideoMeta {
  readonly width: number
  readonly height: number
  readonly frameRate: number
  /** '' when unknown (the element is left out) */
  readonly codec: string
  readonly profile: string
  /** AVC: the constraint flags byte (0 when unknown); written when the level is, as nginx-rtmp does */
  readonly compat: number
  /** AVC: level_idc / 10, one decimal ("3.1"); '' when unknown */
  readonly level: string
}

export interface AudioMeta {
  readonly codec: string
  readonly profile: string
  /** 0 when unknown */
  readonly channels: number
  readonly sampleRate: number
}

export interface StreamMeta {
  readonly video: VideoMeta
  readonly audio: AudioMeta
}

/** FLV VIDEODATA CodecID names (FLV spec E.4.3.1; 12 is PingOS's H.265 id). */
const VIDEO_CODECS: Readonly<Record<number, string>> = {
  1: 'Jpeg', 2: 'Sorenson-H263', 3: 'ScreenVideo', 4: 'On2-VP6', 5: 'On2-VP6-Alpha', 6: 'ScreenVideo2', 7: 'H264', 12: 'H265',
}
/** E-RTMP FourCCs */
const FOURCC_CODECS: Readonly<Record<string, string>> = { avc1: 'H264', hvc1: 'H265', av01: 'AV1', vp09: 'VP9' }
/** FLV AUDIODATA SoundFormat names (FLV spec E.4.2.1) */
const AUDIO_CODECS: Readonly<Record<number, string>> = {
  1: 'ADPCM', 2: 'MP3', 3: 'LinearLE', 4: 'Nellymoser16', 5: 'Nellymoser8', 6: 'Nellymoser',
  7: 'G711A', 8: 'G711U', 10: 'AAC', 11: 'Speex', 14: 'MP3-8K', 15: 'DeviceSpecific',
}
/** H.264 profile_idc (ITU-T H.264 A.2) */
const AVC_PROFILES: Readonly<Record<number, string>> = {
  66: 'Baseline', 77: 'Main', 88: 'Extended', 100: 'High', 110: 'High 10', 122: 'High 4:2:2', 244: 'High 4:4:4', 44: 'CAVLC 4:4:4',
}
/** MPEG-4 audio object types (ISO 14496-3 1.5.1.1) */
const AAC_PROFILES: Readonly<Record<number, string>> = { 1: 'Main', 2: 'LC', 3: 'SSR', 4: 'LTP', 5: 'HE', 29: 'HEv2' }
/** MPEG-4 samplingFrequencyIndex (ISO 14496-3 1.6.3.4) */
const AAC_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350]
/** FLV SoundRate (2 bits) */
const FLV_RATES = [5512, 11025, 22050, 44100]

function num(values: AmfObject | null, ...keys: string[]): number {
  for (const k of keys) {
    const v = values?.[k]
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return Math.round(v)
  }
  return 0
}

export function videoMeta(values: AmfObject | null, header: Buffer | null, hevcCodecId: number): VideoMeta {
  let codec = ''
  let profile = ''
  let compat = 0
  let level = ''
  const v = header === null ? null : inspectVideo(header, hevcCodecId)
  if (v !== null && header !== null) {
    codec = typeof v.codecId === 'string' ? FOURCC_CODECS[v.codecId] ?? v.codecId : (v.codec === 'hevc' ? 'H265' : VIDEO_CODECS[v.codecId] ?? '')
    // AVCDecoderConfigurationRecord after the 5-byte FLV video tag header (ISO 14496-15 5.2.4.1)
    if (v.codec === 'avc' && !v.enhanced && header.length >= 9) {
      profile = AVC_PROFILES[header[6]] ?? ''
      compat = header[7]
      level = header[8] > 0 ? (header[8] / 10).toFixed(1) : ''
    }
  }
  return { width: num(values, 'width'), height: num(values, 'height'), frameRate: num(values, 'framerate', 'videoframerate'), codec, profile, compat, level }
}

export function audioMeta(header: Buffer | null): AudioMeta {
  const a = header === null ? null : inspectAudio(header)
  if (a === null || header === null) return { codec: '', profile: '', channels: 0, sampleRate: 0 }
  const codec = AUDIO_CODECS[a.codecId] ?? ''
  // AudioSpecificConfig after the 2-byte FLV AAC header: 5 bits object type, 4 bits rate index, 4 bits channels
  if (a.codecId === SOUND_FORMAT_AAC && header.length >= 4) {
    const type = header[2] >> 3
    const rate = AAC_RATES[((header[2] & 7) << 1) | (header[3] >> 7)] ?? 0
    return { codec, profile: AAC_PROFILES[type] ?? '', channels: (header[3] >> 3) & 15, sampleRate: rate }
  }
  return { codec, profile: '', channels: (header[0] & 1) + 1, sampleRate: FLV_RATES[(header[0] >> 2) & 3] }
}

/** A field rtmp_stat shows, by its element name (and JSON key), in nginx-rtmp's order. */
export type StatField = readonly [name: string, value: string | number]

/** The <video> fields: the size and rate always, the codec's when known (<compat> goes with <level>, as nginx-rtmp). */
export function videoFields(v: VideoMeta): StatField[] {
  const f: StatField[] = [['width', v.width], ['height', v.height], ['frame_rate', v.frameRate]]
  if (v.codec !== '') f.push(['codec', v.codec])
  if (v.profile !== '') f.push(['profile', v.profile])
  if (v.level !== '') f.push(['compat', v.compat], ['level', v.level])
  return f
}

/** The <audio> fields that are known. */
export function audioFields(a: AudioMeta): StatField[] {
  const f: StatField[] = []
  if (a.codec !== '') f.push(['codec', a.codec])
  if (a.profile !== '') f.push(['profile', a.profile])
  if (a.channels > 0) f.push(['channels', a.channels])
  if (a.sampleRate > 0) f.push(['sample_rate', a.sampleRate])
  return f
}
