// rtmp_stat's bw_* (pingos-observed.md §9: bits/s, 0 for roughly the first 10 s of a stream;
// nginx-rtmp measures each stream over 10 s intervals from its first message): a stream ffmpeg
// publishes at the test media's rate, with one RTMP player, reads 0 until its first interval
// ends, then about what it carries.
import t from 'tap'
import { publish } from '../helpers/node.js'
import { mediaCount, playerR } from '../helpers/pull-scenarios.js'
import { startStatEdge, STAT_WAIT_MS, statWhen, streamNamed, textOf, type XmlElement } from '../helpers/stats.js'

/** NGX_RTMP_BANDWIDTH_INTERVAL */
const INTERVAL_MS = 10_000
/** how late past its first interval a stream may show its bandwidth (the stat's clock, a loaded machine) */
const LATE_MS = 2500
/** the test media: 300 kb/s video and 64 kb/s audio (test/fixtures/media/README.md), as ffmpeg measures them */
const MEDIA_BITS = { min: 250_000, max: 500_000 }

const num = (s: XmlElement, name: string): number => Number(textOf(s, name))

t.test('bw_* read 0 for the stream\'s first 10 s, then the rates it carries', async (t) => {
  const node = await startStatEdge(t, { live: '' })
  const p = publish(`rtmp://127.0.0.1:${node.rtmpPort}/live/cam1`)
  t.teardown(() => p.stop())
  await node.edge.waitForLog("publish: name='cam1'", STAT_WAIT_MS)
  const r = (await playerR(t, node.rtmpPort, { name: 'cam1' })).client
  await r.until(() => mediaCount(r) > 0, STAT_WAIT_MS, 'media at the player')

  const early = streamNamed(await statWhen(node, () => true), 'cam1')
  t.same(['bw_in', 'bw_out', 'bw_audio', 'bw_video'].map((k) => num(early, k)), [0, 0, 0, 0],
    `at ${num(early, 'time')} ms: every bw_* is 0`)
  t.ok(num(early, 'bytes_in') > 0, 'while bytes_in counts from the start')

  // 2 intervals at most: a stream measured from the node's clock rather than its own would show 0 that long
  const rtmp = await statWhen(node, (x) => num(streamNamed(x, 'cam1'), 'bw_in') > 0, 2 * INTERVAL_MS + LATE_MS)
  const s = streamNamed(rtmp, 'cam1')
  const time = num(s, 'time')
  t.ok(time >= INTERVAL_MS - LATE_MS && time <= INTERVAL_MS + LATE_MS, `bw_in is first > 0 at ${time} ms, after the first 10 s`)
  const [bwIn, bwOut, bwAudio, bwVideo] = ['bw_in', 'bw_out', 'bw_audio', 'bw_video'].map((k) => num(s, k))
  t.ok(bwIn >= MEDIA_BITS.min && bwIn <= MEDIA_BITS.max, `bw_in ${bwIn} b/s: the media's rate`)
  t.ok(bwAudio > 0 && bwVideo > bwAudio && bwAudio + bwVideo <= bwIn && bwAudio + bwVideo > bwIn * 0.95,
    `bw_audio ${bwAudio} + bw_video ${bwVideo}: the media part of bw_in`)
  // the player waited up to a GOP (2 s) for its first keyframe: that much video of the interval is not its
  t.ok(bwOut > bwIn * 0.6 && bwOut < bwIn * 1.2, `bw_out ${bwOut} b/s: what the one player gets`)
  t.ok(num(rtmp, 'bw_in') > 0, 'the node\'s bw_in too')
})
