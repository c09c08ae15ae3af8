// Recorders in process, fed the test media through the real publish pipeline (live.enter,
// live.publish, the record stage) as fast as it goes: the control API of issue 12
// (Recordings.start / stop), record_append's timestamps across two publishes, record_max_frames,
// a full disk (/dev/full), and no descriptor left behind.
import { execFileSync } from 'node:child_process'
import { closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { MSG_AUDIO, MSG_VIDEO } from '../../lib/media/message.js'
import { PLAYER_SOFT_BYTES } from '../../lib/live/player.js'
import { testMediaTags } from '../helpers/origins.js'
import { fds, recordUnit, tagsOf, type UnitPublisher } from '../helpers/record-unit.js'

const { dir, logFile, tree, node } = recordUnit(t)

/** the sequence headers plus every frame of the test media, sent in one go */
function sendAll(p: UnitPublisher): void {
  p.send(0, 1e9)
}

t.test('the control API: a manual recorder records between start and stop', async (t) => {
  const out = join(dir, 'manual')
  mkdirSync(out)
  const n = node(tree(`recorder rm { record all manual; record_path ${out}; }`))
  const before = fds()
  const p = await n.publish('m1')
  const key = (p.req.stream as { key: string }).key
  p.send(0, 3000)
  t.same(readdirSync(out), [], 'a manual recorder opens nothing by itself')
  t.equal(n.recordings.start(key, 'nosuch'), false, 'no such recorder')
  t.equal(n.recordings.start('default/rec/other', 'rm'), false, 'no such stream')
  t.equal(n.recordings.start(key, 'rm'), true, 'started')
  p.send(3000, 7000)
  t.equal(n.recordings.stop(key, 'rm'), true, 'stopped')
  p.send(7000, 1e9)
  await n.recordings.closeAll(5000)
  const tags = tagsOf(join(out, 'm1.flv'))
  const video = tags.filter((x) => x.typeId === MSG_VIDEO && x.payload[1] === 1)
  t.equal(video[0].payload[0] >> 4, 1, 'the file starts at a keyframe')
  t.equal(tags[0].timestamp, 0, 'timestamps start at 0')
  const last = video[video.length - 1].timestamp
  t.ok(last >= 2900 && last < 3100, `3 s recorded, from the 4 s keyframe to the stop at 7 s (${last} ms)`)
  t.equal(p.statuses.length, 0, 'no record_notify, no status')
  p.req.close()
  t.equal(fds(), before, 'no descriptor left')
})

t.test('record_append: timestamps go on after the last tag across two publishes', async (t) => {
  const out = join(dir, 'append')
  mkdirSync(out)
  const n = node(tree(`record all; record_append on; record_path ${out};`))
  const first = await n.publish('a1')
  first.send(0, 4000)
  first.req.close()
  await n.recordings.closeAll(5000)
  const lastFirst = Math.max(...tagsOf(join(out, 'a1.flv')).map((x) => x.timestamp))
  const second = await n.publish('a1')
  second.send(0, 4000) // the publisher's clock starts again at 0
  second.req.close()
  await n.recordings.closeAll(5000)
  const tags = tagsOf(join(out, 'a1.flv'))
  for (const type of [MSG_AUDIO, MSG_VIDEO]) {
    const ts = tags.filter((x) => x.typeId === type).map((x) => x.timestamp)
    t.ok(ts.every((v, i) => i === 0 || v >= ts[i - 1]), `${type === MSG_AUDIO ? 'audio' : 'video'} timestamps never go back`)
  }
  t.ok(Math.max(...tags.map((x) => x.timestamp)) > lastFirst + 3000, 'the second publish follows the first')
  t.equal(readFileSync(join(out, 'a1.flv')).subarray(0, 3).toString('latin1'), 'FLV', 'one FLV header')
  t.equal(readFileSync(join(out, 'a1.flv')).indexOf('FLV', 3, 'latin1'), -1, 'not written twice')
})

t.test('record_max_frames: closed at the limit, the next file at the next keyframe; record_notify', async (t) => {
  const out = join(dir, 'frames')
  mkdirSync(out)
  const n = node(tree(`record video; record_max_frames 30; record_notify on; record_path ${out};`))
  const p = await n.publish('f1')
  t.same(p.statuses, ['NetStream.Record.Start '], 'Record.Start of recorder "" before the publish starts')
  sendAll(p)
  await n.recordings.closeAll(5000)
  // 10 s, a keyframe every 2 s: five files of 30 frames from a keyframe, each under the same
  // name (no record_unique): the last one stays, written after the one before it was closed
  t.same(readdirSync(out), ['f1.flv'])
  const tags = tagsOf(join(out, 'f1.flv'))
  const video = tags.filter((x) => x.typeId === MSG_VIDEO && x.payload[1] === 1)
  t.equal(video.length, 30, '30 frames, then closed')
  t.equal(video[0].payload[0] >> 4, 1, 'from a keyframe')
  t.notOk(tags.some((x) => x.typeId === MSG_AUDIO), 'record video: no audio')
  t.same(p.statuses, Array(5).fill(['NetStream.Record.Start ', 'NetStream.Record.Stop ']).flat(), 'Record.Stop at each close, Record.Start at each open')
  p.req.close()
})

t.test('a full disk: one log line, the recorder stops, the publish goes on, no descriptor left', { skip: !existsSync('/dev/full') && 'no /dev/full' }, async (t) => {
  const n = node(tree('record all; record_path /dev; record_suffix "";'))
  const before = fds()
  const p = await n.publish('full')
  sendAll(p)
  await n.recordings.closeAll(5000)
  const lines = readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes("'/dev/full'") && l.includes('failed'))
  t.equal(lines.length, 1, 'one line')
  t.match(lines[0], /\[error\] \d+#0: \*1 record:  write to '\/dev\/full' failed \(28: No space left on device\), recording stopped, client: 127\.0\.0\.1:1, app: rec, name: full$/)
  t.notOk(p.req.gone, 'the publisher is still publishing')
  p.send(0, 1000, 10_000)
  p.req.close()
  t.equal(fds(), before, 'no descriptor left')
  t.ok(statSync('/dev/full').isCharacterDevice(), '/dev/full untouched')
})

t.test('a disk that takes nothing (a pipe nobody reads): memory stays bounded, the publish goes on', async (t) => {
  const out = join(dir, 'fifo')
  mkdirSync(out)
  execFileSync('mkfifo', [join(out, 'slow')])
  const n = node(tree(`record all; record_path ${out}; record_suffix "";`))
  const before = fds()
  // a reader that never reads: the recorder's open succeeds, its writes stop once the pipe is full
  const reader = openSync(join(out, 'slow'), constants.O_RDONLY | constants.O_NONBLOCK)
  const p = await n.publish('slow')
  const recorder = (p.req.stream as unknown as { players: { sink: { queuedBytes: number } }[] }).players[0].sink
  const biggest = Math.max(...testMediaTags().map((x) => x.payload.length))
  let most = 0
  for (let loop = 0; loop < 40; loop++) {
    p.send(0, 10_000, loop * 10_000)
    most = Math.max(most, recorder.queuedBytes)
    await new Promise((resolve) => setImmediate(resolve))
  }
  t.ok(most > PLAYER_SOFT_BYTES, `it fell behind (${most} bytes unwritten)`)
  t.ok(most <= PLAYER_SOFT_BYTES + 2 * (biggest + 15), 'past the soft limit it drops frames: memory stays bounded')
  t.notOk(p.req.gone, 'the publisher is still publishing')
  const behind = readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('record:  writes fall behind'))
  t.equal(behind.length, 1, 'said once')
  t.match(behind[0] ?? '', /\[warn\] \d+#0: \*1 record:  writes fall behind: \d+ bytes unwritten, frames are dropped if it goes on, client: 127\.0\.0\.1:1, app: rec, name: slow$/)
  // the reader goes: the blocked write fails (EPIPE), one line, the file handle is closed
  closeSync(reader)
  p.req.close()
  await n.recordings.closeAll(5000)
  const lines = readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes(`'${join(out, 'slow')}'`) && l.includes('failed'))
  t.equal(lines.length, 1, 'one line')
  t.match(lines[0] ?? '', /write to '.*' failed \(32: Broken pipe\), recording stopped/)
  t.equal(fds(), before, 'no descriptor left')
})

t.test('the stream name is escaped into the file name: nothing written outside record_path', async (t) => {
  const out = join(dir, 'names', 'rec')
  mkdirSync(out, { recursive: true })
  const n = node(tree(`record all; record_path ${out};`))
  for (const name of ['../x', 'a b/c']) {
    const p = await n.publish(name)
    p.send(0, 3000)
    p.req.close()
  }
  await n.recordings.closeAll(5000)
  t.same(readdirSync(out).sort(), ['..%2Fx.flv', 'a%20b%2Fc.flv'])
  t.same(readdirSync(join(dir, 'names')), ['rec'], 'nothing beside record_path')
  t.ok(tagsOf(join(out, '..%2Fx.flv')).length > 0, 'recorded')
})
