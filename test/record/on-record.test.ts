// on_record for `record` files, in process against a notify server on 127.0.0.1 (docs/compat.md,
// Recording): stage= is obeyed (start only by default, §4.2); each file that opened is named
// once, by update when it closes while recording goes on and by done when the recording ends;
// a recording that ends with no file open (the last one closed by record_max_frames or a stop
// by /control/record, or none could be opened) ends with a done that names no file.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { absent, byCase, notifyServer, where } from '../helpers/notify.js'
import { requestWhere } from '../helpers/pull-scenarios.js'
import { recordUnit, type UnitPublisher } from '../helpers/record-unit.js'

/** bound on a notify request that follows a publish or a close */
const WAIT_MS = 5000
/** how long the server is watched for a request that must not come */
const QUIET_MS = 1000
const START = 'NetStream.Record.Start '
const NO_FILE = '&begintime=&endtime=&index=&file='

/** `file=` of an update or done line */
function fileOf(line: string): string {
  return /&begintime=\d+&endtime=\d+&index=&file=([^& ]+) HTTP\/1\.1$/.exec(line)?.[1] ?? ''
}

t.test('on_record without stage=: start only, no update at a rotation, no done', async (t) => {
  const server = await notifyServer(t, byCase)
  const u = recordUnit(t)
  const out = join(u.dir, 'stage')
  mkdirSync(out)
  const n = u.node(u.tree(`record all; record_max_frames 30; record_notify on; record_path ${out};
    on_record http://127.0.0.1:${server.port}/record;`))
  const p = await n.publish('s1')
  await p.waitStatus(START) // the start was answered: the file opened
  p.send(0, 10_000)
  await p.waitStatus(START, 5)
  p.req.close()
  await n.recordings.closeAll(WAIT_MS)
  t.equal(server.requests.filter(where('record', 'start', 's1')).length, 1, 'start')
  t.ok(await absent(server, (r) => where('record', 'update')(r) || where('record', 'done')(r), QUIET_MS), 'no update, no done')
})

t.test('on_record stage=start,update,done: each file named once; done when the recording ends', async (t) => {
  const server = await notifyServer(t, byCase)
  const u = recordUnit(t)
  const out = join(u.dir, 'once')
  mkdirSync(out)
  writeFileSync(join(u.dir, 'afile'), 'a regular file\n')
  const onRecord = `on_record http://127.0.0.1:${server.port}/record stage=start,update,done;`
  const n = u.node(u.tree({
    rec: `record all; record_notify on; record_path ${out}; ${onRecord}`,
    frames: `record all; record_max_frames 30; record_notify on; record_path ${out}; ${onRecord}`,
    bad: `record all; record_path ${u.dir}/afile; ${onRecord}`,
  }))
  const prefix = (app: string, name: string): string =>
    `GET /record?call=record&act=done&domain=127.0.0.1&app=${app}&name=${name}&clientid=1`
  const finish = async (t: Test, p: UnitPublisher, name: string): Promise<{ updates: string[], done: string }> => {
    p.req.close()
    const done = await requestWhere(server, where('record', 'done', name), 0, WAIT_MS)
    t.ok(await absent(server, (r) => (where('record', 'update', name)(r) || where('record', 'done', name)(r)), QUIET_MS), 'nothing more')
    return { updates: server.requests.filter(where('record', 'update', name)).map((r) => r.line), done: done.line }
  }

  await t.test('the file open at the end: done names it', async (t) => {
    const p = await n.publish('end')
    await p.waitStatus(START)
    p.send(0, 3000)
    const { updates, done } = await finish(t, p, 'end')
    t.same(updates, [], 'no update')
    t.equal(fileOf(done), join(out, 'end.flv'), 'done: the file')
  })

  await t.test('closed by record_max_frames, no file after it: the update names it, done no file', async (t) => {
    const p = await n.publish('mf', { app: 'frames' })
    await p.waitStatus(START)
    p.send(0, 1500) // 30 frames, then no keyframe
    await p.waitStatus('NetStream.Record.Stop ')
    const { updates, done } = await finish(t, p, 'mf')
    t.equal(updates.length, 1, 'one update')
    t.equal(fileOf(updates[0]), join(out, 'mf.flv'), 'update: the file')
    t.equal(done, `${prefix('frames', 'mf')}${NO_FILE} HTTP/1.1`, 'done: no file')
  })

  await t.test('stopped by /control/record, not started again: the update names it, done no file', async (t) => {
    const p = await n.publish('st')
    await p.waitStatus(START)
    p.send(0, 3000)
    t.ok(n.recordings.stop((p.req.stream as { key: string }).key, ''), 'stopped')
    p.send(3000, 5000)
    const { updates, done } = await finish(t, p, 'st')
    t.equal(updates.length, 1, 'one update')
    t.equal(fileOf(updates[0]), join(out, 'st.flv'), 'update: the file')
    t.equal(done, `${prefix('rec', 'st')}${NO_FILE} HTTP/1.1`, 'done: no file')
  })

  await t.test('no file could be opened: done names none', async (t) => {
    const p = await n.publish('nf', { app: 'bad' })
    await u.waitLine(`failed to open file '${u.dir}/afile/nf.flv'`)
    p.send(0, 3000)
    const { updates, done } = await finish(t, p, 'nf')
    t.same(updates, [], 'no update')
    t.equal(done, `${prefix('bad', 'nf')}${NO_FILE} HTTP/1.1`, 'done: no file')
  })
})
