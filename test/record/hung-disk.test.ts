// A disk that does not answer (in process; FIFOs nobody reads stand for a hung NFS mount: each
// open blocks one of libuv's threadpool threads for as long as nobody reads): recording's fs
// calls are bounded (fs-limit.ts), so four recorders on that disk leave the pool free for
// dns.lookup and for a recorder on another disk; each hung recorder is one [crit] line at the
// deadline; edge's stop names the files it could not write out; the handles are closed once
// the calls return.
import { execFileSync } from 'node:child_process'
import { closeSync, constants, mkdirSync, openSync } from 'node:fs'
import { lookup } from 'node:dns/promises'
import { join } from 'node:path'
import t from 'tap'
import { MSG_VIDEO } from '../../lib/media/message.js'
import { testMediaTags } from '../helpers/origins.js'
import { fds, recordUnit, tagsOf } from '../helpers/record-unit.js'

/** the deadline of each recording fs call in this test (RECORD_FS_DEADLINE_MS is 10 s) */
const DEADLINE_MS = 500
/** bound on a dns.lookup of localhost: it answers at once when the pool has a thread */
const LOOKUP_WAIT_MS = 5000
/** edge's stop waits this long for the files here (RECORD_STOP_WAIT_MS is 5 s) */
const STOP_WAIT_MS = 1000
const HUNG = 4

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms) })
  return Promise.race([p, late]).finally(() => clearTimeout(timer))
}

t.test('four recorders on a hung disk: dns.lookup answers, a recorder on another disk records', async (t) => {
  const u = recordUnit(t)
  const hung = join(u.dir, 'hung')
  const ok = join(u.dir, 'ok')
  mkdirSync(hung)
  mkdirSync(ok)
  const fifos = Array.from({ length: HUNG }, (_, k) => join(hung, `f${k + 1}.flv`))
  for (const f of fifos) execFileSync('mkfifo', [f])
  const before = fds()
  const n = u.node(u.tree({ hung: `record all; record_path ${hung};`, ok: `record all; record_path ${ok};` }),
    { maxOps: 2, deadlineMs: DEADLINE_MS, poolThreads: 4 })
  const pubs = await Promise.all(fifos.map((_, k) => n.publish(`f${k + 1}`, { app: 'hung', clientId: k + 1 })))
  for (const p of pubs) p.send(0, 2000)

  t.ok((await within(lookup('localhost'), LOOKUP_WAIT_MS, 'dns.lookup')).address, 'dns.lookup answers')
  const lines = u.lines('failed to open file')
  t.equal(lines.length, HUNG, 'one line for each hung recorder')
  for (const l of lines) {
    t.match(l, /\[crit\] \d+#0: \*\d record:  failed to open file '.*\/hung\/f\d\.flv' \((no answer from the disk in 0\.5 s|a call on this directory got no answer in 0\.5 s, none is made until it returns)\), client: /)
  }
  t.equal(lines.filter((l) => l.includes('(no answer')).length, 2, 'two calls hung; the others were not made')
  t.ok(pubs.every((p) => !p.req.gone), 'the publishers go on')

  const healthy = await n.publish('healthy', { app: 'ok', clientId: 9 })
  healthy.send(0, 4000)
  healthy.req.close()
  for (const p of pubs) p.req.close()
  await n.recordings.closeAll(STOP_WAIT_MS)
  const video = tagsOf(join(ok, 'healthy.flv')).filter((x) => x.typeId === MSG_VIDEO && x.payload[1] === 1)
  t.equal(video.length, testMediaTags().filter((x) => x.typeId === MSG_VIDEO && x.payload[1] === 1 && x.timestamp < 4000).length,
    'the recorder on another disk recorded all it was sent')
  const stop = u.lines('not written out')
  t.equal(stop.length, 1, 'the stop names what it could not write out')
  t.match(stop[0], /\[error\] \d+#0: record: not written out after 1 s \(the disk does not answer\): '.*\/hung\/f\d\.flv', '.*\/hung\/f\d\.flv'$/)

  // the disk answers again: the opens return and their handles are closed
  const readers = fifos.map((f) => openSync(f, constants.O_RDONLY | constants.O_NONBLOCK))
  t.teardown(() => { for (const r of readers) closeSync(r) })
  await n.recordings.closeAll(LOOKUP_WAIT_MS)
  t.equal(u.lines('not written out').length, 1, 'every file closed')
  for (const r of readers.splice(0)) closeSync(r)
  t.equal(fds(), before, 'no descriptor left')
})
