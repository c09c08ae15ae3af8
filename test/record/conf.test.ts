// The recorders of an application as the typed tree holds them (nginx-rtmp's record module,
// pingos-observed.md §16): `recorder` blocks in order, then the application's own `record` as
// the recorder "", each inheriting record_* from the enclosing levels; and file names.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../../lib/conf/check.js'
import type { RecorderConf } from '../../lib/conf/tree.js'
import { recordFilePath, strftime } from '../../lib/record/path.js'

const dir = mkdtempSync(join(tmpdir(), 'edge-record-conf-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

function recorders(rtmpLines: string, appLines: string): readonly RecorderConf[] {
  const file = join(dir, 'nginx.conf')
  writeFileSync(file, `events {}\nrtmp {\n${rtmpLines}\nserver { listen 1935;\napplication rec {\n${appLines}\n}\n}\n}\n`)
  return loadConfig({ prefix: dir, confFile: file, globals: null }).tree.rtmp?.servers[0].applications[0].recorders ?? []
}

t.test('recorder blocks in order, the application\'s own last; inherited record_*', async (t) => {
  const list = recorders('record_unique on;', `record all; record_path /r; record_suffix -%Y.flv; record_notify on;
    recorder r1 { record all; record_interval 3s; record_path /r1; record_suffix _r1.flv; }
    recorder r2 { record_max_size 300K; record_max_frames 10; }
    recorder rm { record all manual; }
    recorder off { record off; }`)
  t.same(list.map((r) => r.name), ['r1', 'r2', 'rm', ''], 'a recorder that records off is left out')
  const [r1, r2, rm, own] = list
  t.match(r1, { record: ['all'], recordPath: '/r1', recordSuffix: '_r1.flv', recordUnique: true, recordIntervalMs: 3000, recordNotify: true })
  t.match(r2, { record: ['all'], recordPath: '/r', recordSuffix: '-%Y.flv', recordUnique: true, recordMaxSizeBytes: 300 * 1024, recordMaxFrames: 10, recordIntervalMs: null })
  t.same(rm.record, ['all', 'manual'])
  t.match(own, { record: ['all'], recordPath: '/r', recordAppend: false, recordMaxSizeBytes: 0, recordMaxFrames: 0 })
})

t.test('defaults, and an application that does not record', async (t) => {
  t.same(recorders('', ''), [], 'no record: no recorder')
  t.same(recorders('record all;', 'record off;'), [], 'record off overrides the server level')
  const [own] = recorders('record video keyframes;', '')
  t.match(own, {
    name: '', record: ['video', 'keyframes'], recordPath: '', recordSuffix: '.flv', recordUnique: false, recordAppend: false,
    recordMaxSizeBytes: 0, recordMaxFrames: 0, recordIntervalMs: null, recordNotify: false,
  })
  t.same(recorders('', 'record audio;\nrecord video;')[0].record, ['audio', 'video'], 'two lines add up (bitmask)')
})

t.test('file names: <path>/<name>[-<unix seconds>]<strftime(suffix)>', async (t) => {
  const at = new Date(2026, 11, 3, 18, 27, 7)
  const secs = Math.floor(at.getTime() / 1000)
  t.equal(strftime('-%Y%m%d-%H%M%S.flv', at), '-20261203-182707.flv', 'local time')
  t.equal(strftime('%F %T %y %s %% %q', at), `2026-12-03 18:27:07 26 ${secs} % %q`, 'unknown conversions stay as written')
  const [own] = recorders('', 'record all; record_path /rec; record_unique on; record_suffix -%Y%m%d-%H%M%S.flv;')
  t.equal(recordFilePath(own, 's1', at), `/rec/s1-${secs}-20261203-182707.flv`)
  const [plain] = recorders('', 'record all; record_path /rec;')
  t.equal(recordFilePath(plain, 's1', at), '/rec/s1.flv')
})

t.test('strftime: the conversions nginx users write, as date(1) prints them in local time', async (t) => {
  const format = '%a %A %b %B %d %e %H %I %j %m %M %p %S %y %Y %Z %%'
  for (const at of [new Date(2026, 0, 5, 9, 4, 3), new Date(2026, 11, 31, 23, 59, 59), new Date(2027, 6, 14, 12, 0, 0)]) {
    const secs = Math.floor(at.getTime() / 1000)
    const date = execFileSync('date', ['-d', `@${secs}`, `+${format}`], { env: { ...process.env, LC_ALL: 'C' } }).toString().trimEnd()
    t.equal(strftime(format, at), date, date)
  }
})

t.test('the stream name in the file name: bytes outside [A-Za-z0-9-._~] as %XX (ngx_rtmp_record_make_path)', async (t) => {
  const [plain] = recorders('', 'record all; record_path /rec;')
  const at = new Date()
  t.equal(recordFilePath(plain, '../x', at), '/rec/..%2Fx.flv', 'no way out of record_path')
  t.equal(recordFilePath(plain, 'a b/c', at), '/rec/a%20b%2Fc.flv')
  t.equal(recordFilePath(plain, 'a\u0000b', at), '/rec/a%00b.flv', 'NUL does not reach the file system')
  t.equal(recordFilePath(plain, 'é~A-z_0.9', at), '/rec/%C3%A9~A-z_0.9.flv', 'UTF-8 bytes, unreserved kept')
})
