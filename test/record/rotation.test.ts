// When a recorder opens, rotates and gives up (in process; ngx_rtmp_record_node_av and
// ngx_rtmp_record_node_close): only a recorder that is not manual opens or rotates at a keyframe;
// with record_interval, the next file after a record_max_frames close waits for the interval, and
// an open that failed is tried again each interval; the FLV header's flags say which tracks the
// file holds; a write that fails after Record.Start is followed by Record.Stop.
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import t from 'tap'
import { MSG_AUDIO, MSG_VIDEO } from '../../lib/media/message.js'
import { recordUnit, tagsOf } from '../helpers/record-unit.js'

const START = 'NetStream.Record.Start '
const STOP = 'NetStream.Record.Stop '
/** record_interval of the retry case */
const INTERVAL_MS = 300

function videoFrames(path: string): number {
  return tagsOf(path).filter((x) => x.typeId === MSG_VIDEO && x.payload[1] === 1).length
}

t.test('record manual with record_max_frames: closed at the limit, not opened again by itself', async (t) => {
  const u = recordUnit(t)
  const out = join(u.dir, 'manual')
  mkdirSync(out)
  const n = u.node(u.tree(`recorder rm { record video manual; record_max_frames 30; record_notify on; record_path ${out}; }`))
  const p = await n.publish('m')
  t.ok(n.recordings.start((p.req.stream as { key: string }).key, 'rm'), 'started')
  await p.waitStatus('NetStream.Record.Start rm')
  p.send(0, 10_000)
  p.req.close()
  await n.recordings.closeAll(5000)
  t.same(p.statuses, ['NetStream.Record.Start rm', 'NetStream.Record.Stop rm'], 'one file')
  t.equal(videoFrames(join(out, 'm.flv')), 30)
})

t.test('record_interval and record_max_frames: the next file only once the interval has passed', async (t) => {
  const u = recordUnit(t)
  const out = join(u.dir, 'interval')
  mkdirSync(out)
  const n = u.node(u.tree(`record video; record_interval 1h; record_max_frames 30; record_notify on; record_path ${out};`))
  const p = await n.publish('i')
  p.send(0, 10_000)
  p.req.close()
  await n.recordings.closeAll(5000)
  t.same(p.statuses, [START, STOP], 'closed at 30 frames, no file in the rest of the hour')
  t.equal(videoFrames(join(out, 'i.flv')), 30)
})

t.test('record_interval: an open that failed is tried again once the interval has passed', async (t) => {
  const u = recordUnit(t)
  const out = join(u.dir, 'later')
  const n = u.node(u.tree(`record all; record_interval ${INTERVAL_MS}ms; record_notify on; record_path ${out};`))
  const p = await n.publish('r')
  t.equal(u.lines(`failed to open file '${out}/r.flv' (2: No such file or directory)`).length, 1, 'the open failed')
  mkdirSync(out)
  p.send(0, 2000)
  t.same(p.statuses, [], 'not before the interval')
  await delay(INTERVAL_MS) // what is tested: the interval passing
  p.send(2000, 4000)
  await p.waitStatus(START)
  p.req.close()
  await n.recordings.closeAll(5000)
  t.same(readdirSync(out), ['r.flv'])
  t.ok(videoFrames(join(out, 'r.flv')) > 0, 'recorded from the keyframe after the interval')
})

t.test('without record_interval an open that failed is not tried again', async (t) => {
  const u = recordUnit(t)
  const out = join(u.dir, 'never')
  const n = u.node(u.tree(`record all; record_notify on; record_path ${out};`))
  const p = await n.publish('r')
  mkdirSync(out)
  p.send(0, 10_000)
  p.req.close()
  await n.recordings.closeAll(5000)
  t.same(readdirSync(out), [])
  t.same(p.statuses, [])
})

t.test('the FLV header flags: the tracks written', async (t) => {
  const u = recordUnit(t)
  const out = join(u.dir, 'flags')
  mkdirSync(out)
  const n = u.node(u.tree(`record all; record_path ${out};`))
  // audio only: `record all` starts a file at a video keyframe, none comes: nothing is written
  for (const [name, only, flags] of [['v', MSG_VIDEO, 0x01], ['a', MSG_AUDIO, 0x00], ['av', undefined, 0x05]] as const) {
    const p = await n.publish(name)
    p.send(0, 4000, 0, only)
    p.req.close()
    await n.recordings.closeAll(5000)
    t.equal(readFileSync(join(out, `${name}.flv`))[4], flags, `${name}: ${flags}`)
  }
})

t.test('a write that fails after Record.Start: Record.Stop', { skip: !existsSync('/dev/full') && 'no /dev/full' }, async (t) => {
  const u = recordUnit(t)
  const n = u.node(u.tree('record all; record_notify on; record_path /dev; record_suffix "";'))
  const p = await n.publish('full')
  p.send(0, 4000)
  await n.recordings.closeAll(5000)
  t.equal(u.lines("write to '/dev/full' failed").length, 1, 'the write failed')
  t.same(p.statuses, [START, STOP])
  p.req.close()
})
