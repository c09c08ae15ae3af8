// A strict reader of Prometheus' text exposition format 0.0.4, for the edge_metrics tests: it
// parses every line and lists every way the text breaks the format's rules, and the naming
// conventions edge follows (counters end in _total; histograms are cumulative), so a test can
// assert `errors` is empty and then read values by name and labels. Where Prometheus' own
// promtool is installed (Debian's `prometheus` package), its `check metrics` lint runs too.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { get } from 'node:http'
import { setTimeout as delay } from 'node:timers/promises'
import type { Test } from 'tap'
import { METRICS_CONTENT_TYPE } from '../../lib/stats/operations.js'

/** how long a scrape may take */
export const SCRAPE_TIMEOUT_MS = 5000
/** scrapeUntil: the interval between scrapes, as a scraper's (much shortened) */
const SCRAPE_INTERVAL_MS = 50
const PROMTOOL = '/usr/bin/promtool'
/** bound on one promtool run */
const PROMTOOL_TIMEOUT_MS = 10_000

export interface PromSample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

export interface PromFamily {
  readonly name: string
  readonly type: string
  readonly help: string
}

export interface Exposition {
  readonly families: ReadonlyMap<string, PromFamily>
  readonly samples: readonly PromSample[]
  /** every rule broken, one line each (empty: valid) */
  readonly errors: readonly string[]
  /** the value of the series `name{labels}` (exactly those labels), NaN if absent */
  value(name: string, labels?: Readonly<Record<string, string>>): number
  /** the sum of the values of `name` over the series whose labels include `labels` */
  sum(name: string, labels?: Readonly<Record<string, string>>): number
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])
/** a float as Go's strconv.ParseFloat and the exposition format take it */
const FLOAT = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$/

function parseFloatValue(s: string): number {
  return s === '+Inf' || s === 'Inf' ? Infinity : s === '-Inf' ? -Infinity : Number(s)
}

/** `{a="x",b="y"}` from `at` (the `{`): the labels and the index after `}`; throws on bad syntax. */
function parseLabels(line: string, at: number): [Record<string, string>, number] {
  const labels: Record<string, string> = {}
  let i = at + 1
  while (line[i] !== '}') {
    const eq = line.indexOf('=', i)
    if (eq === -1) throw new Error('label without "="')
    const name = line.slice(i, eq)
    if (!LABEL_NAME.test(name)) throw new Error(`bad label name "${name}"`)
    if (name in labels) throw new Error(`label "${name}" twice`)
    if (line[eq + 1] !== '"') throw new Error(`label "${name}": value not quoted`)
    let v = ''
    let j = eq + 2
    for (; j < line.length && line[j] !== '"'; j++) {
      if (line[j] !== '\\') {
        v += line[j]
        continue
      }
      const next = line[++j]
      if (next === '\\' || next === '"') v += next
      else if (next === 'n') v += '\n'
      else throw new Error(`label "${name}": bad escape "\\${next}"`)
    }
    if (j >= line.length) throw new Error(`label "${name}": unterminated value`)
    labels[name] = v
    i = j + 1
    if (line[i] === ',') i++
    else if (line[i] !== '}') throw new Error('labels not separated by ","')
  }
  return [labels, i + 1]
}

function seriesKey(name: string, labels: Readonly<Record<string, string>>): string {
  return `${name}{${Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',')}}`
}

/** The family a sample belongs to: a histogram's _bucket, _sum and _count are its base name's. */
function familyOf(name: string, families: ReadonlyMap<string, PromFamily>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = name.slice(0, -suffix.length)
    if (name.endsWith(suffix) && families.get(base)?.type === 'histogram') return base
  }
  return name
}

export function parseExposition(text: string): Exposition {
  const families = new Map<string, PromFamily>()
  const helps = new Map<string, string>()
  const samples: PromSample[] = []
  const errors: string[] = []
  const seen = new Set<string>()
  /** families whose samples are over: another family's line came after them */
  const closed = new Set<string>()
  let current: string | null = null
  if (!text.endsWith('\n')) errors.push('the text does not end with a line feed')
  const lines = text.split('\n')
  if (lines[lines.length - 1] === '') lines.pop()
  lines.forEach((line, n) => {
    const where = `line ${n + 1} "${line}"`
    const enter = (family: string): void => {
      if (current === family) return
      if (current !== null) closed.add(current)
      if (closed.has(family)) errors.push(`${where}: family ${family} is not one group of lines`)
      current = family
    }
    const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line)
    if (m !== null) {
      const [, kind, name, rest = ''] = m
      if (!NAME.test(name)) errors.push(`${where}: bad metric name`)
      enter(name)
      if (kind === 'HELP') {
        if (helps.has(name)) errors.push(`${where}: a second HELP for ${name}`)
        if (/\\(?![\\n])/.test(rest)) errors.push(`${where}: bad escape in HELP`)
        helps.set(name, rest)
      } else {
        if (families.has(name)) errors.push(`${where}: a second TYPE for ${name}`)
        if (!TYPES.has(rest)) errors.push(`${where}: unknown type "${rest}"`)
        if (samples.some((s) => familyOf(s.name, families) === name || s.name === name)) errors.push(`${where}: TYPE after a sample of ${name}`)
        families.set(name, { name, type: rest, help: helps.get(name) ?? '' })
      }
      return
    }
    if (line.startsWith('#') || line.trim() === '') return
    try {
      const nameEnd = line.search(/[{ ]/)
      if (nameEnd === -1) throw new Error('no value')
      const name = line.slice(0, nameEnd)
      if (!NAME.test(name)) throw new Error(`bad metric name "${name}"`)
      let labels: Record<string, string> = {}
      let i = nameEnd
      if (line[i] === '{') [labels, i] = parseLabels(line, i)
      if (line[i] !== ' ') throw new Error('no space before the value')
      const [value, timestamp, ...extra] = line.slice(i + 1).split(' ')
      if (!FLOAT.test(value ?? '')) throw new Error(`bad value "${value}"`)
      if ((timestamp !== undefined && !/^-?\d+$/.test(timestamp)) || extra.length > 0) throw new Error('bad timestamp')
      const family = familyOf(name, families)
      enter(family)
      const declared = families.get(family)
      if (declared === undefined) errors.push(`${where}: no TYPE line before the first sample of ${family}`)
      if (!helps.has(family)) errors.push(`${where}: no HELP line before the first sample of ${family}`)
      if (declared?.type === 'counter' && !name.endsWith('_total')) errors.push(`${where}: a counter not named *_total`)
      if (declared?.type === 'histogram' && name.endsWith('_bucket') && !('le' in labels)) errors.push(`${where}: a bucket without le`)
      const key = seriesKey(name, labels)
      if (seen.has(key)) errors.push(`${where}: series ${key} twice`)
      seen.add(key)
      samples.push({ name, labels, value: parseFloatValue(value) })
    } catch (err) {
      errors.push(`${where}: ${(err as Error).message}`)
    }
  })
  for (const f of families.values()) if (f.type === 'histogram') errors.push(...histogramErrors(f.name, samples))
  const matches = (s: PromSample, labels: Readonly<Record<string, string>>): boolean =>
    Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  return {
    families,
    samples,
    errors,
    value: (name, labels = {}) =>
      samples.find((s) => s.name === name && matches(s, labels) && Object.keys(s.labels).length === Object.keys(labels).length)?.value ?? NaN,
    sum: (name, labels = {}) => samples.filter((s) => s.name === name && matches(s, labels)).reduce((a, s) => a + s.value, 0),
  }
}

/** A histogram's buckets are cumulative in increasing `le`, end at +Inf, and +Inf equals _count. */
function histogramErrors(name: string, samples: readonly PromSample[]): string[] {
  const errors: string[] = []
  const groups = new Map<string, PromSample[]>()
  for (const s of samples.filter((x) => x.name === `${name}_bucket`)) {
    const key = seriesKey(name, Object.fromEntries(Object.entries(s.labels).filter(([k]) => k !== 'le')))
    groups.set(key, [...(groups.get(key) ?? []), s])
  }
  for (const [key, buckets] of groups) {
    const les = buckets.map((b) => parseFloatValue(b.labels.le))
    if (les.some((le, i) => i > 0 && !(le > les[i - 1]))) errors.push(`${key}: le not increasing`)
    if (buckets.some((b, i) => i > 0 && b.value < buckets[i - 1].value)) errors.push(`${key}: buckets not cumulative`)
    if (les[les.length - 1] !== Infinity) errors.push(`${key}: no +Inf bucket last`)
    const same = (s: PromSample, suffix: string): boolean => s.name === `${name}${suffix}` && seriesKey(name, s.labels) === key
    const count = samples.find((s) => same(s, '_count'))
    const inf = buckets[buckets.length - 1].value
    if (count === undefined) errors.push(`${key}: no _count`)
    else if (count.value !== inf) errors.push(`${key}: +Inf bucket ${inf} is not _count ${count.value}`)
    if (!samples.some((s) => same(s, '_sum'))) errors.push(`${key}: no _sum`)
  }
  return errors
}

export interface Scrape {
  readonly status: number
  readonly contentType: string
  readonly text: string
}

/** GET http://127.0.0.1:`port``path` as a scraper does. */
export function scrape(port: number, path = '/metrics'): Promise<Scrape> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path, signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { text += d })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'] ?? '', text }))
      res.on('error', reject)
    })
    req.on('error', reject)
  })
}

/** Scrape `port` and parse it, checking the answer: 200, the format's Content-Type, every line valid. */
export async function metricsOf(t: Test, port: number, what: string): Promise<Exposition> {
  const s = await scrape(port)
  t.equal(s.status, 200, `${what}: /metrics answers 200`)
  t.equal(s.contentType, METRICS_CONTENT_TYPE, `${what}: the exposition format's Content-Type`)
  const e = parseExposition(s.text)
  t.same(e.errors, [], `${what}: every line is valid exposition format`)
  await t.test(`${what}: promtool check metrics`, { skip: existsSync(PROMTOOL) ? false : `not installed: ${PROMTOOL}` }, async (t) => {
    t.same(await promtoolCheck(s.text), { code: 0, output: '' }, 'it finds nothing')
  })
  return e
}

/** `promtool check metrics` with `text` on its standard input: its exit code and what it printed. */
async function promtoolCheck(text: string): Promise<{ code: number | null, output: string }> {
  const child = spawn(PROMTOOL, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => { output += d })
  child.stderr.setEncoding('utf8').on('data', (d: string) => { output += d })
  child.stdin.end(text)
  const timer = setTimeout(() => child.kill('SIGKILL'), PROMTOOL_TIMEOUT_MS)
  const [code] = await once(child, 'close') as [number | null]
  clearTimeout(timer)
  return { code, output }
}

/** Scrape `port` every SCRAPE_INTERVAL_MS until `cond` holds; rejects after `timeoutMs`. */
export async function scrapeUntil(port: number, cond: (e: Exposition) => boolean, what: string, timeoutMs: number): Promise<Exposition> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const e = parseExposition((await scrape(port)).text)
    if (cond(e)) return e
    if (Date.now() >= deadline) throw new Error(`/metrics did not show ${what} within ${timeoutMs} ms`)
    await delay(SCRAPE_INTERVAL_MS)
  }
}
