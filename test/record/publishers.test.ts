// Whose frames a recorder writes, and files of one name across publishes (in process): with two
// publishers of one stream (pubpri, behaviour §7.2) each recorder records its own publisher only,
// its file closed while the other one is active and opened again at a keyframe once it is active
// again (nginx-rtmp records each session's own messages); a publisher that leaves and publishes
// again at once while its file is still being written (record_append reads back a file that is
// complete; without it the new file replaces the old one whole); a pull leg's failure
// (failPlayers) does not stop a recorder.
import { mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import type { LiveStream } from '../../lib/live/stream.js'
import { MSG_AUDIO, MSG_VIDEO } from '../../lib/media/message.js'
import { testMediaTags } from '../helpers/origins.js'
import { recordUnit, tagsOf } from '../helpers/record-unit.js'
import type { FlvTag } from '../../lib/flv/reader.js'

const START = 'NetStream.Record.Start '
const STOP = 'NetStream.Record.Stop '

/** frames of the test media a file holds from `fromMs` to `toMs`: from the first keyframe on */
function videoFramesRecorded(fromMs: number, toMs: number): number {
  const video = testMediaTags().filter((x) => x.typeId === MSG_VIDEO && x.payload[1] === 1 && x.timestamp >= fromMs && x.timestamp < toMs)
  const first = video.findIndex((x) => x.payload[0] >> 4 === 1)
  return first === -1 ? 0 : video.length - first
}

function videoFrames(tags: readonly FlvTag[]): FlvTag[] {
  return tags.filter((x) => x.typeId === MSG_VIDEO && x.payload[1] === 1)
}

function checkTimestamps(t: Test, tags: readonly FlvTag[]): void {
  for (const type of [MSG_AUDIO, MSG_VIDEO]) {
    const ts = tags.filter((x) => x.typeId === type).map((x) => x.timestamp)
    t.ok(ts.every((v, i) => i === 0 || v >= ts[i - 1]), `${type === MSG_AUDIO ? 'audio' : 'video'} timestamps never go back`)
  }
}

function headers(path: string): number {
  const buf = readFileSync(path)
  let n = 0
  for (let i = buf.indexOf('FLV\x01', 0, 'latin1'); i !== -1; i = buf.indexOf('FLV\x01', i + 1, 'latin1')) n++
  return n
}

t.test('pubpri: each recorder records its own publisher while it is the active one', async (t) => {
  const u = recordUnit(t)
  const out = join(u.dir, 'pubpri')
  mkdirSync(out)
  const n = u.node(u.tree(`record all; record_append on; record_notify on; record_path ${out};`))
  const a = await n.publish('s', { clientId: 1 }) // pubpri 0
  a.send(0, 4000, 100_000) // A's clock at 100 s
  const b = await n.publish('s', { pargs: 'pubpri=1', clientId: 2 }) // takes the stream over
  b.send(0, 4000) // B's clock from 0
  a.send(4000, 6000, 100_000) // A goes on, not the active one: nobody records it
  b.req.close() // A is the active one again
  a.send(6000, 10_000, 100_000)
  a.req.close()
  await n.recordings.closeAll(5000)
  const path = join(out, 's.flv')
  t.same(readdirSync(out), ['s.flv'], 'one name: each file appended to the one before')
  t.equal(headers(path), 1, 'one FLV header')
  const tags = tagsOf(path)
  t.equal(videoFrames(tags).length, videoFramesRecorded(0, 4000) * 2 + videoFramesRecorded(6000, 10_000),
    'A from 0 to 4 s, B from 0 to 4 s, A again from its keyframe at 6 s: nothing twice, nothing of A while B was active')
  checkTimestamps(t, tags)
  t.same(a.statuses, [START, STOP, START, STOP], 'A: closed when B took over, opened again when A was active again')
  t.same(b.statuses, [START, STOP], 'B: its own file')
})

t.test('pubpri: a publisher that had sent nothing when another took over: its file closes at the first frame of the other', async (t) => {
  const u = recordUnit(t)
  const out = join(u.dir, 'idle')
  mkdirSync(out)
  const n = u.node(u.tree(`record all; record_notify on; record_path ${out};`))
  const a = await n.publish('s', { clientId: 1 })
  const b = await n.publish('s', { pargs: 'pubpri=1', clientId: 2 })
  b.send(0, 4000)
  await b.waitStatus(START) // its file (of the same name) opened once A's was closed
  t.same(a.statuses, [START, STOP], 'A: closed')
  b.req.close()
  a.req.close()
  await n.recordings.closeAll(5000)
  t.equal(videoFrames(tagsOf(join(out, 's.flv'))).length, videoFramesRecorded(0, 4000), 'B recorded')
})

t.test('a publisher that leaves and publishes again while its file is still written: files of one name in order', async (t) => {
  const u = recordUnit(t)
  for (const append of [true, false]) {
    await t.test(append ? 'record_append: the second publish follows the first' : 'the second publish replaces the first', async (t) => {
      const out = join(u.dir, append ? 'append' : 'trunc')
      mkdirSync(out)
      const n = u.node(u.tree(`record all; record_path ${out}; ${append ? 'record_append on;' : ''}`))
      const first = await n.publish('a1')
      first.send(0, 6000)
      first.req.close() // its writes are still queued
      const second = await n.publish('a1')
      second.send(0, 4000)
      second.req.close()
      await n.recordings.closeAll(5000)
      const path = join(out, 'a1.flv')
      t.equal(headers(path), 1, 'one FLV header')
      const tags = tagsOf(path)
      const expected = append ? videoFramesRecorded(0, 6000) + videoFramesRecorded(0, 4000) : videoFramesRecorded(0, 4000)
      t.equal(videoFrames(tags).length, expected, append ? 'both publishes, whole' : 'the second publish only')
      checkTimestamps(t, tags)
    })
  }
})

t.test('a pull leg of the stream fails (failPlayers): the recorder goes on with its publisher', async (t) => {
  const u = recordUnit(t)
  const out = join(u.dir, 'fail')
  mkdirSync(out)
  const n = u.node(u.tree(`record all; record_append on; record_notify on; record_path ${out};`))
  const p = await n.publish('f')
  p.send(0, 4000)
  const stream = p.req.stream as LiveStream
  stream.failPlayers({ level: 'error', code: 'NetStream.Play.StreamNotFound', description: 'no such stream', viaError: false, httpStatus: 404 })
  await p.waitStatus(STOP)
  p.send(4000, 8000)
  await p.waitStatus(START, 2)
  p.req.close()
  await n.recordings.closeAll(5000)
  t.same(p.statuses, [START, STOP, START, STOP], 'the file closed at the failure and the next one opened at the next keyframe')
  const tags = tagsOf(join(out, 'f.flv'))
  t.equal(videoFrames(tags).length, videoFramesRecorded(0, 8000), 'every frame published')
  t.same(u.lines('record:  stopped'), [], 'not stopped')
})
