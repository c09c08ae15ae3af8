// What a recording tells the publisher and the business server (issue 11 item 3;
// pingos-observed.md §16, §13.3, §17.8): record_notify's onStatus seen by an RTMP client,
// on_record for `record` files (edge's decision: docs/compat.md, Recording), a 403 to its
// start, and an unwritable record_path: one [crit] line, the publisher and a player unaffected,
// no descriptor left in the edge process.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { CSID_AUDIO, CSID_VIDEO, MSG_AUDIO, MSG_VIDEO } from '../../lib/rtmp/constants.js'
import { absent, byCase, notifyServer, rtmpClient, where } from '../helpers/notify.js'
import { paceMedia } from '../helpers/origins.js'
import { ffprobeStreams, H264_AAC, nextStatus, requestWhere, statuses } from '../helpers/pull-scenarios.js'
import {
  descriptorsOf, exitWithin, filesIn, publishFor, PUBLISH_SLACK_MS, startRecordEdge,
} from '../helpers/record.js'

/** bound on a status, a request or a log line that follows a publish or a close */
const WAIT_MS = 8000
/** how long edge is watched for an on_record done that must not come */
const QUIET_MS = 1500
/** record_interval of the on_record application */
const INTERVAL_MS = 3000
/** a file of the on_record application lasts from one keyframe to the first past 3 s: 4 s */
const FILE_MS = 4000
const LATE_MS = 700

t.test('record_notify: Record.Start of each recorder before Publish.Start, then Stop/Start at each close/open', async (t) => {
  const node = await startRecordEdge(t, {
    ntf: `record_notify on; record all; record_path @/ntf;
            recorder a { record all; record_max_frames 30; record_path @/ntfa; }
            recorder m { record all manual; record_path @/ntf; }`,
  })
  mkdirSync(join(node.dir, 'ntf'))
  mkdirSync(join(node.dir, 'ntfa'))
  const c = await rtmpClient(t, node.rtmpPort, 'ntf')
  void c.publish('n1')
  await nextStatus(c, 'NetStream.Publish.Start', WAIT_MS)
  t.same(statuses(c), [
    { level: 'status', code: 'NetStream.Record.Start', description: 'a' },
    { level: 'status', code: 'NetStream.Record.Start', description: '' },
    { level: 'status', code: 'NetStream.Publish.Start', description: 'Start publishing' },
  ], 'recorders in config order, the application\'s own ("") last, the manual one not started')
  const from = c.messages.length
  const stop = paceMedia((tag, ts) => {
    if (tag.typeId === MSG_AUDIO || tag.typeId === MSG_VIDEO) c.send(tag.typeId === MSG_AUDIO ? CSID_AUDIO : CSID_VIDEO, tag.typeId, 1, ts, tag.payload)
  })
  t.teardown(stop)
  const stopped = await nextStatus(c, 'NetStream.Record.Stop', WAIT_MS, from)
  t.equal((stopped.values?.[3] as { description?: string }).description, 'a', 'recorder a closed at 30 frames')
  const again = await nextStatus(c, 'NetStream.Record.Start', WAIT_MS, c.messages.indexOf(stopped))
  t.equal((again.values?.[3] as { description?: string }).description, 'a', 'and opened again at the next keyframe')
  stop()
})

t.test('on_record: start before a file opens, update at each rotation, done at the close, with the record fields', async (t) => {
  const server = await notifyServer(t, byCase)
  const node = await startRecordEdge(t, {
    onrec: `record all; record_path @/onrec; record_unique on; record_interval 3s;
            on_record http://127.0.0.1:${server.port}/record stage=start,update,done args=k=$parg_k&case=$parg_case;`,
  })
  const dir = join(node.dir, 'onrec')
  mkdirSync(dir)

  await t.test('answered 200: files recorded, the fields of each file', async (t) => {
    const ffmpeg = publishFor(t, node.url('onrec', 's2?k=2'), 7)
    const start = await requestWhere(server, where('record', 'start', 's2'), 0, WAIT_MS)
    t.match(start.line, /^GET \/record\?call=record&act=start&domain=127\.0\.0\.1&app=onrec&name=s2&clientid=\d+&k=2&case= HTTP\/1\.1$/,
      'start: no record fields')
    const clientId = /clientid=(\d+)/.exec(start.line)?.[1] ?? ''
    t.equal(await exitWithin(ffmpeg, 7000 + PUBLISH_SLACK_MS), 0, 'ffmpeg published 7 s')
    const done = await requestWhere(server, where('record', 'done', 's2'), 0, WAIT_MS)
    const updates = server.requests.filter(where('record', 'update', 's2'))
    const files = filesIn(dir).filter((f) => f.startsWith('s2-'))
    t.equal(updates.length, files.length - 1, `an update for each rotation (${files.length} files)`)
    const fields = (line: string, act: string): { begin: number, end: number, file: string } => {
      const re = new RegExp(`^GET /record\\?call=record&act=${act}&domain=127\\.0\\.0\\.1&app=onrec&name=s2&clientid=${clientId}` +
        '&begintime=(\\d+)&endtime=(\\d+)&index=&file=([^&]+)&k=2&case= HTTP/1\\.1$')
      const m = re.exec(line)
      t.ok(m, `${act}: ${line}`)
      return { begin: Number(m?.[1]), end: Number(m?.[2]), file: m?.[3] ?? '' }
    }
    const spans = [...updates.map((u) => fields(u.line, 'update')), fields(done.line, 'done')]
    t.same(spans.map((s) => s.file), files.map((f) => join(dir, f)), 'each file once, in order: updates for the rotated ones, done for the last')
    for (const [i, s] of spans.entries()) {
      if (i < spans.length - 1) {
        t.ok(Math.abs(s.end - s.begin - FILE_MS) <= LATE_MS, `file ${i + 1}: ${s.end - s.begin} ms (record_interval ${INTERVAL_MS} ms to the next keyframe)`)
        t.ok(spans[i + 1].begin >= s.end && spans[i + 1].begin - s.end <= LATE_MS, 'the next opens at once')
      }
    }
    t.ok(spans[0].begin < spans[spans.length - 1].end, 'a monotonic ms clock')
  })

  await t.test('start answered 403: no file, no done; the publisher is unaffected', async (t) => {
    const ffmpeg = publishFor(t, node.url('onrec', 's3?case=403'), 3)
    await requestWhere(server, where('record', 'start', 's3'), 0, WAIT_MS)
    t.equal(await exitWithin(ffmpeg, 3000 + PUBLISH_SLACK_MS), 0, 'ffmpeg published 3 s')
    await node.edge.waitForLog(/publish: name='s3'[^]*close: client disconnected/, WAIT_MS)
    t.ok(await absent(server, where('record', 'done', 's3'), QUIET_MS), 'no done')
    t.same(server.requests.filter(where('record', 'update', 's3')), [], 'no update')
    t.same(filesIn(dir).filter((f) => f.startsWith('s3')), [], 'no file')
  })
})

t.test('an unwritable record_path: one [crit] line, the publisher and a player unaffected, no descriptor left', async (t) => {
  const node = await startRecordEdge(t, { bad: 'record all; record_path @/afile; record_notify on;' })
  writeFileSync(join(node.dir, 'afile'), 'a regular file\n')
  const pid = node.edge.child.pid as number
  const before = descriptorsOf(pid)
  const closes = (): number => node.edge.log().split('close: ').length - 1
  const closedBefore = closes()
  const ffmpeg = publishFor(t, node.url('bad', 's4'), null)
  const path = join(node.dir, 'afile', 's4.flv')
  await node.edge.waitForLog(`failed to open file '${path}'`, WAIT_MS)
  const lines = node.edge.log().split('\n').filter((l) => l.includes('record:'))
  t.equal(lines.length, 1, 'one line about the recording')
  t.match(lines[0], new RegExp(`^\\d{4}/\\d\\d/\\d\\d \\d\\d:\\d\\d:\\d\\d \\[crit\\] ${pid}#0: \\*\\d+ record:  failed to open file '${path}' ` +
    '\\(20: Not a directory\\), client: 127\\.0\\.0\\.1:\\d+, app: bad, name: s4$'), 'nginx-rtmp\'s line (observed §16)')
  await node.edge.waitForLog("publish: name='s4'", WAIT_MS)
  t.same(await ffprobeStreams(node.url('bad', 's4')), H264_AAC, 'a player plays the stream')
  t.equal(ffmpeg.child.exitCode, null, 'ffmpeg is still publishing')
  ffmpeg.child.kill('SIGKILL')
  await ffmpeg.exited
  await node.edge.waitForLog(new RegExp(`(close: [^]*){${closedBefore + 2}}`), WAIT_MS)
  t.equal(descriptorsOf(pid), before, 'the publisher and the player gone, edge holds what it held before')
})
