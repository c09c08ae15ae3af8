// PingOS's directive table (test/fixtures/pingos-directives.tsv, a copy of
// ../shared/spec/pingos-directives.tsv: every directive of PingOS's ngx_command_t tables with
// its context and arity flags and its setter) walked row by row. Each directive is in edge's
// table with the same contexts and argument count; each one whose setter is a stock nginx slot
// takes what that slot takes, stores what it stores, and refuses the rest with nginx's message
// at the directive's file:line, through the real loader.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../../lib/conf/check.js'
import { DIRECTIVES, type Directive } from '../../lib/conf/directives.js'
import {
  EVENTS, HTTP, HTTP_LOC, HTTP_SRV, MAIN, RTMP, RTMP_APP, RTMP_REC, RTMP_SRV,
} from '../../lib/conf/scope.js'
import type { ConfName } from '../../lib/conf/slots.js'
import type { MainConf } from '../../lib/conf/tree.js'
import { TIMER_MAX_MS } from '../../lib/conf/values.js'
import { ConfError } from '../../lib/core/errors.js'
import { fixturesDir, repoRoot } from '../helpers/edge.js'

const TSV = join(fixturesDir, 'pingos-directives.tsv')
const SHARED_TSV = join(repoRoot, '..', 'shared', 'spec', 'pingos-directives.tsv')

// ngx_conf_handler's argument check: the counts each NGX_CONF_* flag admits.
const COUNTS: Record<string, readonly [number, number]> = {
  NGX_CONF_NOARGS: [0, 0], NGX_CONF_TAKE1: [1, 1], NGX_CONF_TAKE2: [2, 2], NGX_CONF_TAKE12: [1, 2],
  NGX_CONF_TAKE123: [1, 3], NGX_CONF_FLAG: [1, 1], NGX_CONF_1MORE: [1, Infinity], NGX_CONF_2MORE: [2, Infinity],
}
const CONTEXTS: Record<string, number> = {
  NGX_MAIN_CONF: MAIN, NGX_EVENT_CONF: EVENTS, NGX_RTMP_MAIN_CONF: RTMP, NGX_RTMP_SRV_CONF: RTMP_SRV,
  NGX_RTMP_APP_CONF: RTMP_APP, NGX_RTMP_REC_CONF: RTMP_REC, NGX_HTTP_MAIN_CONF: HTTP, NGX_HTTP_SRV_CONF: HTTP_SRV,
  NGX_HTTP_LOC_CONF: HTTP_LOC,
}

interface Row {
  readonly name: string
  readonly ctx: number
  readonly args: readonly [number, number]
  readonly block: boolean
  readonly setter: string
  readonly source: string
  readonly line: number
}

function readRows(): Row[] {
  const rows: Row[] = []
  readFileSync(TSV, 'utf8').split('\n').forEach((text, i) => {
    if (text === '' || text.startsWith('#')) return
    const [name, flags, setter, source] = text.split('\t')
    let ctx = 0
    let min = Infinity
    let max = -Infinity
    let block = false
    for (const flag of flags.split('|').map((f) => f.trim())) {
      if (flag in CONTEXTS) ctx |= CONTEXTS[flag]
      else if (flag in COUNTS) {
        min = Math.min(min, COUNTS[flag][0])
        max = Math.max(max, COUNTS[flag][1])
      } else if (flag === 'NGX_CONF_BLOCK') block = true
      else if (flag !== 'NGX_DIRECT_CONF') throw new Error(`pingos-directives.tsv:${i + 1}: unknown flag ${flag}`)
    }
    rows.push({ name, ctx, args: [min, max], block, setter, source, line: i + 1 })
  })
  return rows
}

/**
 * Rows of the tsv that are not directives of nginx.conf: the extraction also read the
 * directive tables of the file `dynamic_conf` names (ngx_*_dynamic.c's dcommands, and
 * `static_pull`, which ngx_live_relay_static.c declares only there) and a command that is
 * commented out in its source. PingOS answers `unknown directive` to the last two in
 * nginx.conf; for `application`, `http`, `server`, `location` and `server_name` the rows of
 * nginx.conf are those of ngx_rtmp_core_module and stock nginx.
 */
function notInNginxConf(row: Row): string | null {
  if (/ngx_(rtmp|http)_dynamic\.c$/.test(row.source)) return 'a directive of the dynamic_conf file'
  if (row.name === 'static_pull') return 'declared in ngx_live_relay_static_dcommands (dynamic_conf file) only'
  if (row.name === 'exec_block') return 'commented out in ngx_rtmp_exec_module.c'
  return null
}

const rows = readRows()
const dir = mkdtempSync(join(tmpdir(), 'edge-directives-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
let files = 0

// A config with `lines` written in context `ctx`, and the line number of the first of them.
const PLACES: ReadonlyMap<number, readonly string[]> = new Map([
  [MAIN, ['@', 'events {}']],
  [EVENTS, ['events {', '@', '}']],
  [RTMP, ['events {}', 'rtmp {', '@', 'server {', 'application a {', '}', '}', '}']],
  [RTMP_SRV, ['events {}', 'rtmp {', 'server {', '@', 'application a {', '}', '}', '}']],
  [RTMP_APP, ['events {}', 'rtmp {', 'server {', 'application a {', '@', '}', '}', '}']],
  [RTMP_REC, ['events {}', 'rtmp {', 'server {', 'application a {', 'recorder r {', '@', '}', '}', '}', '}']],
  [HTTP, ['events {}', 'http {', '@', 'server {', 'listen 8080;', 'location / {', '}', '}', '}']],
  [HTTP_SRV, ['events {}', 'http {', 'server {', 'listen 8080;', '@', 'location / {', '}', '}', '}']],
  [HTTP_LOC, ['events {}', 'http {', 'server {', 'listen 8080;', 'location / {', '@', '}', '}', '}']],
])

interface Loaded {
  readonly file: string
  readonly line: number
  /** the error as `edge -t` prints it (without "edge: "), or null */
  readonly error: string | null
  readonly tree: MainConf | null
}

/** Load `lines` written in context `ctx`. */
function load(ctx: number, lines: readonly string[]): Loaded {
  const place = PLACES.get(ctx) as readonly string[]
  const at = place.indexOf('@')
  const file = join(dir, `c${files++}.conf`)
  writeFileSync(file, [...place.slice(0, at), ...lines, ...place.slice(at + 1)].join('\n') + '\n')
  try {
    return { file, line: at + 1, error: null, tree: loadConfig({ prefix: dir, confFile: file, globals: null }).tree }
  } catch (err) {
    if (!(err instanceof ConfError)) throw err
    return { file, line: at + 1, error: err.format(), tree: null }
  }
}

// Where each conf of the tree is read in a config of PLACES, and the blocks whose values reach it
// (record_* are read through AppConf.recorders: test/record/conf.test.ts).
const CONF_AT: Record<Exclude<ConfName, 'appNotify' | 'record'>, { ctx: number, from: readonly number[], get: (tree: MainConf) => object | undefined }> = {
  main: { ctx: MAIN, from: [], get: (tree) => tree },
  events: { ctx: EVENTS, from: [], get: (tree) => tree.events },
  rtmp: { ctx: RTMP, from: [], get: (tree) => tree.rtmp ?? undefined },
  rtmpServer: { ctx: RTMP_SRV, from: [RTMP], get: (tree) => tree.rtmp?.servers[0] },
  app: { ctx: RTMP_APP, from: [RTMP, RTMP_SRV], get: (tree) => tree.rtmp?.servers[0].applications[0] },
  httpServer: { ctx: HTTP_SRV, from: [HTTP], get: (tree) => tree.http?.servers[0] },
  location: { ctx: HTTP_LOC, from: [HTTP, HTTP_SRV], get: (tree) => tree.http?.servers[0].locations[0] },
}

/** The value the row's tree field holds after a load with the directive in `ctx` (undefined: none reads it there). */
function stored(d: Directive, ctx: number, tree: MainConf): unknown {
  if (d.slot === null || d.slot.conf === 'appNotify' || d.slot.conf === 'record') return undefined
  const at = CONF_AT[d.slot.conf]
  if (at.ctx !== ctx && !(d.slot.merge === 'inherit' && at.from.includes(ctx))) return undefined
  return (at.get(tree) as Record<string, unknown>)[d.slot.field]
}

function bits(ctx: number): number[] {
  return [...PLACES.keys()].filter((b) => (ctx & b) !== 0)
}

// Stock slots (ngx_conf_file.c): what each takes and stores, and its message for what it refuses.
interface Stock {
  readonly valid: readonly (readonly [arg: string, value: unknown])[]
  readonly invalid: readonly (readonly [arg: string, message: (name: string, arg: string) => string])[]
  /** nginx's "is duplicate" for a second one in the same block (the bitmask slot ORs instead) */
  readonly once: boolean
}
const invalidValue = (name: string): string => `[emerg] "${name}" directive invalid value`
const STOCK: Record<string, Stock> = {
  ngx_conf_set_flag_slot: {
    valid: [['on', true], ['OFF', false]],
    invalid: [['yes', (name, arg) => `[emerg] invalid value "${arg}" in "${name}" directive, it must be "on" or "off"`]],
    once: true,
  },
  ngx_conf_set_msec_slot: {
    valid: [['126s', 126_000], ['1m30s', 90_000], ['250ms', 250], ['3', 3000], ['1h 5m', 3_900_000], ['52w', TIMER_MAX_MS]],
    invalid: [['5x', invalidValue], ['1y', invalidValue], ['1M', invalidValue], ['s', invalidValue], ['1s1m', invalidValue]],
    once: true,
  },
  ngx_conf_set_size_slot: {
    valid: [['64k', 65_536], ['1M', 1_048_576], ['512', 512]],
    invalid: [['64x', invalidValue], ['1g', invalidValue], ['k', invalidValue]],
    once: true,
  },
  ngx_conf_set_num_slot: {
    valid: [['42', 42]],
    invalid: [['4k', (name) => `[emerg] "${name}" directive invalid number`], ['-1', (name) => `[emerg] "${name}" directive invalid number`]],
    once: true,
  },
  ngx_conf_set_str_slot: { valid: [['some/value', 'some/value']], invalid: [], once: true },
  ngx_conf_set_enum_slot: { valid: [], invalid: [['bogus', (_name, arg) => `[warn] invalid value "${arg}"`]], once: true },
  ngx_conf_set_bitmask_slot: { valid: [], invalid: [['bogus', (_name, arg) => `[warn] invalid value "${arg}"`]], once: false },
}

/** One word of each enum and bitmask directive's list (their lists are in the C source, not in the tsv). */
const WORDS: Record<string, readonly string[]> = {
  meta: ['copy', 'OFF'],
  on_meta_type: ['both', 'Audio'],
  oclp_meta_type: ['both', 'Audio'],
  hls_fragment_naming: ['system'],
  hls_fragment_slicing: ['aligned'],
  hls2_fragment_slicing: ['aligned'],
  hls_type: ['event'],
  record: ['video', 'KEYFRAMES'],
}

t.test('the copy in test/fixtures is ../shared/spec/pingos-directives.tsv', { skip: !existsSync(SHARED_TSV) && 'no ../shared here' }, async (t) => {
  const copy = readFileSync(TSV, 'utf8')
  t.equal(copy.slice(copy.indexOf('\n') + 1), readFileSync(SHARED_TSV, 'utf8'))
})

for (const row of rows) {
  const why = notInNginxConf(row)
  t.test(`${row.name} (pingos-directives.tsv:${row.line})`, async (t) => {
    const ours = (DIRECTIVES.get(row.name) ?? []).filter((d) => (d.ctx & row.ctx) !== 0)
    if (why !== null) {
      t.comment(`not a directive of nginx.conf: ${why}`)
      if (row.name === 'static_pull' || row.name === 'exec_block') {
        t.same(ours, [], 'unknown to edge, as to PingOS')
      }
      return
    }
    t.equal(ours.length, 1, 'one row of edge covers its contexts')
    const d = ours[0]
    if (d === undefined) return
    t.equal(d.ctx, row.ctx, 'same contexts')
    t.same(d.args, row.args, 'same argument count')
    t.equal(d.block !== undefined, row.block, row.block ? 'a block' : 'not a block')
    if (row.block) return

    for (const ctx of bits(row.ctx)) {
      const [min, max] = row.args
      if (Number.isFinite(max)) {
        const r = load(ctx, [`${row.name} ${Array(max + 1).fill('x').join(' ')};`])
        t.equal(r.error, `[emerg] invalid number of arguments in "${row.name}" directive in ${r.file}:${r.line}`, `${max + 1} arguments`)
      }
      if (min > 0) {
        const r = load(ctx, [`${row.name}${' x'.repeat(min - 1)};`])
        t.equal(r.error, `[emerg] invalid number of arguments in "${row.name}" directive in ${r.file}:${r.line}`, `${min - 1} arguments`)
      }
    }

    const stock = STOCK[row.setter]
    if (stock === undefined) return
    const valid = [...stock.valid, ...(WORDS[row.name] ?? []).map((w) => [w, w.toLowerCase()] as const)]
    t.ok(valid.length > 0, 'a value to try')
    const extra = ' x'.repeat(row.args[0] - 1)
    for (const ctx of bits(row.ctx)) {
      for (const [arg, value] of valid) {
        const r = load(ctx, [`${row.name} "${arg}"${extra};`])
        t.equal(r.error, null, `takes ${arg}`)
        const field = r.tree === null ? undefined : stored(d, ctx, r.tree)
        if (field !== undefined) t.same(field, value, `stores ${arg} as ${String(value)} in ${d.slot?.conf}.${d.slot?.field}`)
      }
      for (const [arg, message] of stock.invalid) {
        const r = load(ctx, [`${row.name} ${arg}${extra};`])
        t.equal(r.error, `${message(row.name, arg)} in ${r.file}:${r.line}`, `refuses ${arg}`)
      }
      const value = valid[0]?.[0]
      if (value !== undefined) {
        const r = load(ctx, [`${row.name} ${value}${extra};`, `${row.name} ${value}${extra};`])
        t.equal(r.error, stock.once ? `[emerg] "${row.name}" directive is duplicate in ${r.file}:${r.line + 1}` : null,
          stock.once ? 'a second one is duplicate' : 'a second one adds to the first')
      }
    }
  })
}
