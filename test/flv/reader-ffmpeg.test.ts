// FlvReader over a real FLV file made by ffmpeg (H.264 with a keyframe every 25 frames, AAC),
// fed in 1000-byte pieces as an HTTP-FLV origin body would arrive. Skipped without ffmpeg.
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { FlvReader, type FlvTag } from '../../lib/flv/reader.js'
import { inspectAudio, inspectVideo } from '../../lib/media/codec.js'
import { MSG_AUDIO, MSG_DATA_AMF0, MSG_VIDEO } from '../../lib/media/message.js'
import { runProcess } from '../helpers/edge.js'

const FFMPEG = '/usr/bin/ffmpeg'
const FFMPEG_TIMEOUT_MS = 60_000
const PIECE_BYTES = 1000
const GOP_FRAMES = 25

t.test('an ffmpeg-made FLV, read in 1000-byte pieces', { skip: existsSync(FFMPEG) ? false : 'no /usr/bin/ffmpeg' }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'edge-flv-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'testsrc2.flv')
  const r = await runProcess(FFMPEG, [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine', '-t', '2',
    '-c:v', 'libx264', '-g', String(GOP_FRAMES), '-c:a', 'aac', '-f', 'flv', file,
  ], { timeoutMs: FFMPEG_TIMEOUT_MS })
  t.equal(r.code, 0, `ffmpeg exits 0 ${r.stderr}`)
  const bytes = await readFile(file)

  const reader = new FlvReader()
  const tags: FlvTag[] = []
  for (let i = 0; i < bytes.length; i += PIECE_BYTES) {
    reader.push(bytes.subarray(i, i + PIECE_BYTES))
    tags.push(...reader.drain())
  }
  t.equal(reader.bytesBuffered, 0, 'nothing left over at the end of the file')

  const whole = new FlvReader()
  whole.push(bytes)
  const same = whole.drain()
  t.equal(tags.length, same.length, 'as many tags as when read whole')
  t.ok(tags.every((x, i) => x.typeId === same[i].typeId && x.timestamp === same[i].timestamp && x.payload.equals(same[i].payload)),
    'the same tags and payload bytes as when read whole')

  t.equal(tags[0].typeId, MSG_DATA_AMF0, 'first tag is script data (onMetaData)')
  const video = tags.filter((x) => x.typeId === MSG_VIDEO)
  const audio = tags.filter((x) => x.typeId === MSG_AUDIO)
  const videoInfo = video.map((x) => inspectVideo(x.payload, 12))
  t.equal(videoInfo.filter((v) => v?.codec === 'avc' && v.sequenceHeader).length, 1, 'one AVC sequence header')
  t.equal(audio.filter((x) => inspectAudio(x.payload)?.sequenceHeader === true).length, 1, 'one AAC sequence header')
  t.ok(audio.every((x) => inspectAudio(x.payload)?.codecId === 10), 'all audio is AAC')

  const frames = videoInfo.filter((v) => v !== null && !v.sequenceHeader && !v.sequenceEnd)
  t.ok(frames.length >= 2 * GOP_FRAMES, `at least 2 s of frames (${frames.length})`)
  const keyAt = frames.flatMap((v, i) => (v?.keyframe === true ? [i] : []))
  t.same(keyAt, frames.flatMap((_, i) => (i % GOP_FRAMES === 0 ? [i] : [])), `a keyframe every ${GOP_FRAMES} frames`)

  const nonDecreasing = (list: FlvTag[]): boolean => list.every((x, i) => i === 0 || x.timestamp >= list[i - 1].timestamp)
  t.ok(nonDecreasing(video), 'video timestamps never go back')
  t.ok(nonDecreasing(audio), 'audio timestamps never go back')
  t.ok(video[video.length - 1].timestamp >= 1900, 'video spans about 2 s')
})
