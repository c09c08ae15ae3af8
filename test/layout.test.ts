// The import rules of ../shared/DESIGN.md, checked on every source file: each layer imports
// only the layers below it, and runtime code sees the config tree through types only.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import t from 'tap'
import { repoRoot } from './helpers/edge.js'

interface Allowed {
  /** repo-relative path prefix, npm package name, or "node:" for builtins */
  readonly target: string
  readonly typeOnly?: boolean
}

const core: Allowed = { target: 'lib/core/' }
const node: Allowed = { target: 'node:' }
const treeTypes: Allowed = { target: 'lib/conf/tree', typeOnly: true }

// First matching prefix wins: more specific paths come first.
const RULES: readonly [string, readonly Allowed[]][] = [
  ['grammar/nginx.generated.ts', [{ target: 'grammar/lexer' }, { target: 'lib/conf/ast', typeOnly: true }]],
  ['grammar/', [{ target: 'moo' }]],
  ['lib/core/', [node, core]],
  ['lib/conf/', [node, core, { target: 'lib/conf/' }, { target: 'grammar/' }, { target: 'nearley' }]],
  ['lib/media/', [core, { target: 'lib/media/' }]],
  ['lib/amf/', [core, { target: 'lib/amf/' }]],
  ['lib/rtmp/', [node, core, { target: 'lib/media/' }, { target: 'lib/amf/' }, { target: 'lib/rtmp/' },
    { target: 'lib/stages' }, { target: 'lib/live/', typeOnly: true }, treeTypes]],
  ['lib/flv/', [node, core, { target: 'lib/media/' }, { target: 'lib/flv/' }]],
  ['lib/stages.ts', [core, treeTypes]],
  ['lib/live/', [node, core, { target: 'lib/media/' }, { target: 'lib/amf/' }, { target: 'lib/rtmp/chunk-writer' },
    { target: 'lib/rtmp/constants' }, { target: 'lib/flv/tag' }, { target: 'lib/live/' }, { target: 'lib/stages' },
    treeTypes]],
  ['lib/notify/', [node, core, { target: 'lib/notify/' }, treeTypes, { target: 'lib/conf/variables', typeOnly: true },
    { target: 'lib/stages' }]],
  ['lib/relay/', [node, core, { target: 'lib/live/' }, { target: 'lib/rtmp/client-session' }, { target: 'lib/flv/client' },
    { target: 'lib/notify/' }, { target: 'lib/relay/' }, { target: 'lib/media/' }, { target: 'lib/stages' }, treeTypes]],
  ['lib/http/', [node, core, { target: 'lib/flv/' }, { target: 'lib/stages' }, { target: 'lib/live/', typeOnly: true },
    { target: 'lib/http/' }, { target: 'lib/media/' }, { target: 'lib/stats/operations', typeOnly: true }, treeTypes]],
  ['lib/record/', [node, core, { target: 'lib/live/', typeOnly: true }, treeTypes, { target: 'lib/media/' }, { target: 'lib/flv/' },
    { target: 'lib/stages' }, { target: 'lib/notify/' }, { target: 'lib/record/' }]],
  ['lib/stats/', [node, core, { target: 'lib/live/', typeOnly: true }, { target: 'lib/media/' }, { target: 'lib/amf/', typeOnly: true },
    { target: 'lib/stats/' }, treeTypes]],
  ['lib/server.ts', [node, { target: 'lib/' }]],
  ['lib/cli.ts', [node, core, { target: 'lib/server' }, { target: 'lib/conf/check' }, { target: 'lib/conf/load' }]],
]

function* sources(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) yield* sources(p)
    else if (name.endsWith('.ts')) yield p
  }
}

const IMPORT = /^\s*(import|export)\s+(type\s+)?(?:[^'"]*?\s+from\s+)?['"]([^'"]+)['"]/gm

t.test('imports follow the layer rules', async (t) => {
  let checked = 0
  for (const file of [...sources(join(repoRoot, 'lib')), ...sources(join(repoRoot, 'grammar'))]) {
    const rel = relative(repoRoot, file)
    const rule = RULES.find(([prefix]) => rel.startsWith(prefix))
    if (rule === undefined) {
      t.fail(`${rel} is in no layer of DESIGN.md; add it to test/layout.test.ts`)
      continue
    }
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const typeOnly = m[2] !== undefined
      const spec = m[3]
      const target = spec.startsWith('.') ? relative(repoRoot, join(dirname(file), spec)).replace(/\.js$/, '') : spec
      const ok = rule[1].some((a) => target.startsWith(a.target) && (typeOnly || a.typeOnly !== true))
      t.ok(ok, `${rel} → ${target}${typeOnly ? ' (type)' : ''}`)
      checked++
    }
  }
  t.ok(checked > 20, `${checked} imports checked`)
})

// Issue 10: the play path exists once, in the pipelines (lib/stages.ts, composed in
// lib/server.ts). Sessions translate protocol ⇄ request/outcome: they never apply access rules,
// start a pull, or touch the hub's player and publisher API themselves.
const SESSION_FILES = ['lib/rtmp/server-session.ts', 'lib/http/flv-live.ts']
const PIPELINE_ONLY = [
  { what: 'access rules', pattern: /\baccessAllowed\b|core\/access/ },
  { what: 'the pull', pattern: /\bpull(?:Stage|IfNeeded)?\s*\(|relay\// },
  { what: 'the hub', pattern: /\bhub\b|\.acquire\(|live\/hub/ },
  { what: "the stream's player API", pattern: /\.(?:addPlayer|removePlayer|startPlayer|failPlayers)\(/ },
  { what: "the stream's publisher API", pattern: /\.(?:addPublisher|removePublisher|publishData)\(|\bstream\.publish\(/ },
]

t.test('sessions enter the pipelines and do not play or publish by hand', async (t) => {
  for (const file of SESSION_FILES) {
    const text = readFileSync(join(repoRoot, file), 'utf8')
    for (const rule of PIPELINE_ONLY) {
      const hit = rule.pattern.exec(text)
      t.equal(hit?.[0] ?? null, null, `${file} does not use ${rule.what}`)
    }
    t.match(text, /\bnew StageRequest\(/, `${file} builds a pipeline request`)
  }
})
