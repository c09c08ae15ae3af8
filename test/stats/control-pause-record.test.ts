// rtmp_control pause/resume and record (pingos-behaviour.md §9.2; pingos-observed.md §15): a
// paused publisher's media stops reaching the players while it goes on publishing, and after
// resume the players get media again from a keyframe; `record/start` with a recorder of the
// application (`recorder rm { record all manual; … }`) opens a file, `record/stop` closes it,
// both answering `ok\n`; with no such recorder they answer 500.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { MSG_AUDIO, MSG_VIDEO } from '../../lib/rtmp/constants.js'
import { fileStreams } from '../helpers/cluster.js'
import { publish } from '../helpers/node.js'
import { H264_AAC, isAvcKeyframe, mediaCount, playerH, playerR } from '../helpers/pull-scenarios.js'
import type { RawHttpClient, RawResponse } from '../helpers/raw-http.js'
import type { RtmpTestClient } from '../helpers/rtmp-client.js'
import { startStatEdge, STAT_WAIT_MS } from '../helpers/stats.js'
import { pollUntil } from '../helpers/witness.js'

/** how long a player must get no media to call the publisher paused (25 fps video, audio every ~23 ms) */
const QUIET_MS = 1000
/** bound on the quiet starting after pause answered */
const QUIET_BOUND_MS = 3000
/** bound on media coming back after resume: the next keyframe (2 s GOP), with slack */
const RESUME_WAIT_MS = 5000
/** what a recording of a keyframe and a second of the test media (about 40 KB/s) is past */
const RECORDED_BYTES = 30_000

/** The answer to a record command: 200 `ok\n` with no Content-Type. */
function isOk(t: Test, res: RawResponse, what: string): void {
  t.equal(res.status, 200, `${what}: 200`)
  t.same(res.headers.map(([k]) => k), ['Server', 'Date', 'Content-Length', 'Connection'], `${what}: no Content-Type`)
  t.equal(res.body.toString('latin1'), 'ok\n', `${what}: ok\\n (Content-Length 3)`)
}

/**
 * Resolves true once `count()` has not grown for `quietMs`, false if it keeps growing past
 * `boundMs`: `wait(cond, ms)` is the player's own bounded wait on its input.
 */
async function quietWithin(count: () => number, wait: (cond: () => boolean, ms: number) => Promise<void>,
  quietMs: number, boundMs: number): Promise<boolean> {
  const deadline = Date.now() + boundMs
  while (Date.now() + quietMs <= deadline) {
    const n = count()
    const grew = await wait(() => count() > n, quietMs).then(() => true, () => false)
    if (!grew) return true
  }
  return false
}

interface Media { readonly typeId: number, readonly payload: Buffer }
/** Audio and video frames, sequence headers left out (they pass a pause, §9.2). */
const isFrame = (typeId?: number) => (m: Media): boolean =>
  (typeId === undefined ? m.typeId === MSG_AUDIO || m.typeId === MSG_VIDEO : m.typeId === typeId) && m.payload.length > 1 && m.payload[1] !== 0
const rtmpMedia = (c: RtmpTestClient): Media[] => c.messages.filter(isFrame())
const flvMedia = (h: RawHttpClient): Media[] => h.tags.filter(isFrame())

t.test('pause/resume publisher: players get nothing while paused, then media from a keyframe', async (t) => {
  const node = await startStatEdge(t, { live: '' })
  const p = publish(`rtmp://127.0.0.1:${node.rtmpPort}/live/p1`)
  t.teardown(() => p.stop())
  await node.edge.waitForLog("publish: name='p1'", STAT_WAIT_MS)
  const r = (await playerR(t, node.rtmpPort, { name: 'p1' })).client
  const h = await playerH(t, node.httpPort, { target: '/flv/p1?app=live' })
  // both players past their first keyframe, so what follows the resume is not their video's start
  await r.until(() => rtmpMedia(r).some(isFrame(MSG_VIDEO)), STAT_WAIT_MS, 'video at the RTMP player')
  await h.until(() => flvMedia(h).some(isFrame(MSG_VIDEO)), STAT_WAIT_MS, 'video at the HTTP-FLV player')

  const paused = await node.get('/control/pause/publisher?srv=edge&app=live&name=p1')
  t.equal(paused.body.toString('latin1'), '1', 'pause: 1')
  t.ok(await quietWithin(() => rtmpMedia(r).length, (c, ms) => r.until(c, ms), QUIET_MS, QUIET_BOUND_MS), `the RTMP player gets no media for ${QUIET_MS} ms`)
  t.ok(await quietWithin(() => flvMedia(h).length, (c, ms) => h.until(c, ms), QUIET_MS, QUIET_BOUND_MS), 'nor the HTTP-FLV player')
  t.equal(p.child.exitCode, null, 'ffmpeg goes on publishing')
  t.notOk(r.closed || h.closed, 'the players stay')

  const rFrom = rtmpMedia(r).length
  const hFrom = flvMedia(h).length
  const resumed = await node.get('/control/resume/publisher?srv=edge&app=live&name=p1')
  t.equal(resumed.body.toString('latin1'), '1', 'resume: 1')
  await r.until(() => rtmpMedia(r).length > rFrom, RESUME_WAIT_MS, 'frames at the RTMP player after resume')
  await h.until(() => flvMedia(h).length > hFrom, RESUME_WAIT_MS, 'frames at the HTTP-FLV player after resume')
  const rFirst = rtmpMedia(r)[rFrom]
  const hFirst = flvMedia(h)[hFrom]
  t.ok(rFirst.typeId === MSG_VIDEO && isAvcKeyframe(rFirst.payload), 'RTMP: the first frame after resume is a keyframe')
  t.ok(hFirst.typeId === MSG_VIDEO && isAvcKeyframe(hFirst.payload), 'HTTP-FLV: the first frame after resume is a keyframe')
  t.equal((await node.get('/control/pause/subscriber?srv=edge&app=live&name=p1')).body.toString('latin1'), '2',
    'pause/subscriber counts the two players')
  const more = mediaCount(r)
  await r.until(() => mediaCount(r) > more + 25, RESUME_WAIT_MS, 'media while the players are "paused"')
  t.pass('a paused subscriber still gets media (§9.2: the fan-out never checks it)')
})

t.test('record start/stop: a recorder of the application → ok; none → 500', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'edge-control-record-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const node = await startStatEdge(t, { live: '', rec: `recorder rm { record all manual; record_path ${dir}; }` })
  const norec = publish(`rtmp://127.0.0.1:${node.rtmpPort}/live/n1`)
  t.teardown(() => norec.stop())
  const rec = publish(`rtmp://127.0.0.1:${node.rtmpPort}/rec/r1`)
  t.teardown(() => rec.stop())
  await node.edge.waitForLog("publish: name='n1'", STAT_WAIT_MS)
  await node.edge.waitForLog("publish: name='r1'", STAT_WAIT_MS)
  t.same(readdirSync(dir), [], '`record all manual`: nothing is recorded before start')

  t.equal((await node.get('/control/record/start?srv=edge&app=live&name=n1')).status, 500, 'no recorder in live: 500')
  t.equal((await node.get('/control/record/start?srv=edge&app=rec&name=r1&rec=nosuch')).status, 500, 'rec=nosuch: 500')
  t.equal((await node.get('/control/record/start?srv=edge&app=rec&name=r1')).status, 500, 'no rec= (the unnamed recorder, none here): 500')

  const file = join(dir, 'r1.flv')
  isOk(t, await node.get('/control/record/start?srv=edge&app=rec&name=r1&rec=rm'), 'start rec=rm')
  await node.edge.waitForLog(`record: rm opened '${file}'`, STAT_WAIT_MS)
  t.same(readdirSync(dir), ['r1.flv'], 'the file appears')
  // the file's growth is announced by nothing: polled, bounded (the first keyframe comes within a 2 s GOP)
  t.ok(await pollUntil(() => statSync(file).size > RECORDED_BYTES, STAT_WAIT_MS), `it grows past ${RECORDED_BYTES} bytes`)
  isOk(t, await node.get('/control/record/stop?srv=edge&app=rec&name=r1&rec=rm'), 'stop rec=rm')
  await node.edge.waitForLog(`record: rm closed '${file}'`, STAT_WAIT_MS)
  t.equal(readdirSync(dir).length, 1, 'no other file')
  t.same(await fileStreams(file), H264_AAC, 'ffprobe reads h264 and aac from it')
})
