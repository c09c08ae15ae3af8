// Config parsing cost. (1) mitata: parse time of a generated 1,000-line and 10,000-line
// config, beside a same-run baseline (moo tokenising alone), and the 10k/1k ratio (goal:
// linear, ≤ 12×). (2) `edge -t` on a realistic edge config as a whole process, beside
// `node -e ""` started the same way (goal: under 300 ms).
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bench, do_not_optimize, run, summary } from 'mitata'
import { lexConf } from '../../grammar/lexer.js'
import { parseConf } from '../../lib/conf/load.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

/** A realistic config of about `lines` lines: many applications with live, pull and notify. */
export function generateConf(lines: number): string {
  let s = 'worker_processes 1;\nevents {\n    worker_connections 4096;\n}\nrtmp {\n    server {\n        listen 1935;\n        serverid edge;\n'
  let i = 0
  while (s.split('\n').length < lines - 4) {
    s += `        application app${i} {\n            live on;\n            cache_time 1s;\n            send_all on;\n` +
      `            pull rtmp://10.0.${(i >> 8) & 255}.${i & 255}:1935 app=live domain="core.example.com";\n` +
      `            on_play http://127.0.0.1:6080/play args=ip=$remote_addr&$pargs stage=start,done; # notify\n        }\n`
    i++
  }
  return s + '    }\n}\n'
}

const small = generateConf(1000)
const large = generateConf(10000)

summary(() => {
  bench('baseline: lexConf 1,000 lines (tokens only)', () => do_not_optimize(lexConf(small, 'x')))
  bench('parseConf 1,000 lines', () => do_not_optimize(parseConf(small, 'x')))
})
summary(() => {
  bench('baseline: lexConf 10,000 lines (tokens only)', () => do_not_optimize(lexConf(large, 'x')))
  bench('parseConf 10,000 lines', () => do_not_optimize(parseConf(large, 'x')))
})

const result = await run()
const avg = (name: string): number => {
  const b = result.benchmarks.find((x) => x.alias === name)
  return b?.runs[0]?.stats?.avg ?? NaN
}
const ratio = avg('parseConf 10,000 lines') / avg('parseConf 1,000 lines')
console.log(`\nparse 10,000 lines / 1,000 lines = ${ratio.toFixed(2)}× (goal ≤ 12×, linear = 10×)`)

function wallMs(args: string[], runs: number): number {
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint()
    const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'ignore' })
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`)
    times.push(Number(process.hrtime.bigint() - t0) / 1e6)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)]
}

const example = join(root, 'conf', 'examples', 'edge-pull.conf')
const nodeMs = wallMs(['-e', ''], 15)
const edgeMs = wallMs([join(root, 'bin', 'edge.js'), '-t', '-c', example], 15)
console.log(`edge -t -c conf/examples/edge-pull.conf: median ${edgeMs.toFixed(0)} ms as a whole process ` +
  `(goal < 300 ms); baseline node -e "": ${nodeMs.toFixed(0)} ms; ratio ${(edgeMs / nodeMs).toFixed(2)}×`)
