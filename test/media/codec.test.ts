// Audio/video body classification against hand-written first bytes (FLV 10.1 §E.4.2-E.4.3,
// veovera E-RTMP v2 ExVideoTagHeader / ExAudioTagHeader).
import t from 'tap'
import { inspectAudio, inspectVideo, type VideoInfo } from '../../lib/media/codec.js'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')
/** byte 0, then a FourCC, then filler */
const ex = (b0: number, fourCc: string, rest = '00 00 00'): Buffer =>
  Buffer.concat([Buffer.from([b0]), Buffer.from(fourCc, 'latin1'), hex(rest)])

const legacy = (frameType: number, codecId: number, over: Partial<VideoInfo> = {}): VideoInfo => ({
  frameType, keyframe: frameType === 1, sequenceHeader: false, codec: 'other', enhanced: false, codecId, sequenceEnd: false, ...over,
})
const enhanced = (frameType: number, codecId: string, over: Partial<VideoInfo> = {}): VideoInfo => ({
  frameType, keyframe: frameType === 1, sequenceHeader: false, codec: 'other', enhanced: true, codecId, sequenceEnd: false, ...over,
})

t.test('legacy AVC', async (t) => {
  t.same(inspectVideo(hex('17 00 000000 01640028'), 12), legacy(1, 7, { codec: 'avc', sequenceHeader: true }), 'key sequence header 0x17 0x00')
  t.same(inspectVideo(hex('17 01 000000 00000005 65'), 12), legacy(1, 7, { codec: 'avc' }), 'keyframe NALU 0x17 0x01')
  t.same(inspectVideo(hex('27 01 000028 00000003 41'), 12), legacy(2, 7, { codec: 'avc' }), 'inter frame 0x27 0x01')
  t.same(inspectVideo(hex('37 01 000000'), 12), legacy(3, 7, { codec: 'avc' }), 'disposable 0x37')
  t.same(inspectVideo(hex('47 01 000000'), 12), legacy(4, 7, { codec: 'avc' }), 'generated keyframe 0x47: not a keyframe')
  t.same(inspectVideo(hex('17 02 000000'), 12), legacy(1, 7, { codec: 'avc', sequenceEnd: true }), 'end of sequence 0x17 0x02')
  // a video info/command frame carries a command byte (0 = start of seek), not AVCPacketType
  t.same(inspectVideo(hex('57 00'), 12), legacy(5, 7, { codec: 'avc' }), 'command frame 0x57 0x00 is no sequence header')
  t.same(inspectVideo(hex('17'), 12), legacy(1, 7, { codec: 'avc' }), 'one byte only')
})

t.test('legacy HEVC under hevc_codecid', async (t) => {
  t.same(inspectVideo(hex('1C 00 000000 01'), 12), legacy(1, 12, { codec: 'hevc', sequenceHeader: true }), '0x1C 0x00 with id 12')
  t.same(inspectVideo(hex('2C 01 000000'), 12), legacy(2, 12, { codec: 'hevc' }), '0x2C 0x01 with id 12')
  t.same(inspectVideo(hex('1C 00 000000')), legacy(1, 12, { codec: 'hevc', sequenceHeader: true }), 'id 12 is the default')
  t.same(inspectVideo(hex('1C 00 000000'), 13), legacy(1, 12), 'id 12 is other when hevc_codecid is 13')
  t.same(inspectVideo(hex('1D 00 000000'), 13), legacy(1, 13, { codec: 'hevc', sequenceHeader: true }), 'id 13 under hevc_codecid 13')
})

t.test('other legacy codecs carry no packet type', async (t) => {
  t.same(inspectVideo(hex('12 00 00'), 12), legacy(1, 2), 'Sorenson H.263 keyframe')
  t.same(inspectVideo(hex('24 00 00'), 12), legacy(2, 4), 'VP6 inter frame')
})

t.test('Enhanced RTMP', async (t) => {
  t.same(inspectVideo(ex(0x90, 'hvc1', '01 02 03'), 12), enhanced(1, 'hvc1', { codec: 'hevc', sequenceHeader: true }), 'HEVC SequenceStart 0x90 hvc1')
  t.same(inspectVideo(ex(0x93, 'av01', '12 00 0a'), 12), enhanced(1, 'av01', { codec: 'av1' }), 'AV1 key CodedFramesX 0x93 av01')
  t.same(inspectVideo(ex(0xa1, 'hvc1', '00 00 00 00'), 12), enhanced(2, 'hvc1', { codec: 'hevc' }), 'HEVC inter CodedFrames 0xA1')
  t.same(inspectVideo(ex(0xa3, 'vp09'), 12), enhanced(2, 'vp09', { codec: 'vp9' }), 'VP9 inter CodedFramesX 0xA3')
  t.same(inspectVideo(ex(0x90, 'avc1'), 12), enhanced(1, 'avc1', { codec: 'avc', sequenceHeader: true }), 'AVC by FourCC')
  t.same(inspectVideo(ex(0x92, 'hvc1', ''), 12), enhanced(1, 'hvc1', { codec: 'hevc', sequenceEnd: true }), 'SequenceEnd 0x92')
  t.same(inspectVideo(ex(0x94, 'hvc1', '02 00 09 63 6f6c6f72 496e666f'), 12), enhanced(1, 'hvc1', { codec: 'hevc' }), 'Metadata 0x94')
  t.same(inspectVideo(ex(0x95, 'av01'), 12), enhanced(1, 'av01', { codec: 'av1' }), 'MPEG2TSSequenceStart 0x95 is not the sequence header')
  t.same(inspectVideo(ex(0x90, 'vp08'), 12), enhanced(1, 'vp08', { sequenceHeader: true }), 'an unknown FourCC is other, kept as its string')
  t.same(inspectVideo(hex('90 68 76'), 12), enhanced(1, '', { sequenceHeader: true }), 'truncated FourCC: packet type still known')
  // E-RTMP: a Command frame (frame type 5) that is not Metadata has a VideoCommand, no FourCC
  t.same(inspectVideo(hex('d1 00'), 12), enhanced(5, ''), 'command frame 0xD1')
})

t.test('Enhanced RTMP v2 multitrack and ModEx', async (t) => {
  // 0x96: key, Multitrack; then UB[4] OneTrack(0) | UB[4] SequenceStart(0); FourCC; track id 0
  t.same(inspectVideo(hex('96 00 68766331 00 01'), 12), enhanced(1, 'hvc1', { codec: 'hevc', sequenceHeader: true }), 'multitrack one track')
  t.same(inspectVideo(hex('a6 13 61763031 00 000002 aabb 01 000001 cc'), 12), enhanced(2, 'av01', { codec: 'av1' }), 'multitrack many tracks')
  // 0x97: key, ModEx; size UI8 2 + 1 = 3 bytes of TimestampOffsetNano; then 0x00 = ModExType 0 | SequenceStart
  t.same(inspectVideo(hex('97 02 000001 00 68766331 01'), 12), enhanced(1, 'hvc1', { codec: 'hevc', sequenceHeader: true }), 'ModEx then SequenceStart')
  t.same(inspectVideo(hex('97 02 0000'), 12), enhanced(1, ''), 'truncated ModEx')
})

t.test('empty payload', async (t) => {
  t.equal(inspectVideo(Buffer.alloc(0), 12), null)
  t.equal(inspectAudio(Buffer.alloc(0)), null)
})

t.test('audio', async (t) => {
  t.same(inspectAudio(hex('AF 00 1210')), { codecId: 10, sequenceHeader: true }, 'AAC sequence header 0xAF 0x00')
  t.same(inspectAudio(hex('AF 01 21 1a')), { codecId: 10, sequenceHeader: false }, 'AAC raw 0xAF 0x01')
  t.same(inspectAudio(hex('2F FFFB 9064')), { codecId: 2, sequenceHeader: false }, 'MP3 0x2F')
  t.same(inspectAudio(hex('2F 00')), { codecId: 2, sequenceHeader: false }, 'MP3 with a zero second byte is no sequence header')
  t.same(inspectAudio(hex('AF')), { codecId: 10, sequenceHeader: false }, 'AAC, one byte only')
  t.same(inspectAudio(hex('90 4f707573 01')), { codecId: 9, sequenceHeader: true }, 'E-RTMP Opus SequenceStart 0x90')
  t.same(inspectAudio(hex('91 4f707573 fc')), { codecId: 9, sequenceHeader: false }, 'E-RTMP Opus CodedFrames 0x91')
  t.same(inspectAudio(hex('97 02 000001 00 4f707573')), { codecId: 9, sequenceHeader: true }, 'E-RTMP ModEx then SequenceStart')
  t.same(inspectAudio(hex('95 00 6d703461 00 1210')), { codecId: 9, sequenceHeader: true }, 'E-RTMP multitrack SequenceStart')
})

t.test('inspection reads in place', async (t) => {
  // classification must not depend on bytes outside the view
  const backing = hex('ff 17 00 ff')
  t.same(inspectVideo(backing.subarray(1, 3), 12), legacy(1, 7, { codec: 'avc', sequenceHeader: true }))
  t.same(inspectVideo(backing.subarray(1, 2), 12), legacy(1, 7, { codec: 'avc' }))
})
