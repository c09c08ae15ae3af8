// The cost of an origin pull, measured end to end with real processes on 127.0.0.1:
// (1) cold start: time from an HTTP-FLV player's connect to its first video keyframe through an
//     edge that must start the pull, as a ratio to the same player on the origin directly,
//     alternating the two in one run (goal ≤ 1.1× plus 50 ms);
// (2) 500 players of one pulled stream: how many connections the origin sees (goal: one).
// Origin: an edge with `cache_time 1s` fed by ffmpeg looping the test media.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { FlvReader } from '../../lib/flv/reader.js'
import { inspectVideo } from '../../lib/media/codec.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const edgeBin = join(root, 'bin', 'edge.js')
const media = join(root, 'test', 'fixtures', 'media', 'testsrc-10s.flv')
const TRIALS = 15
const PLAYERS = 500

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1')
  await once(s, 'listening')
  const port = (s.address() as { port: number }).port
  s.close()
  await once(s, 'close')
  return port
}

async function startEdge(dir: string, name: string, conf: string): Promise<ChildProcess> {
  const file = join(dir, `${name}.conf`)
  writeFileSync(file, `daemon off;\nerror_log stderr notice;\npid ${join(dir, `${name}.pid`)};\nevents {}\n${conf}`)
  const child = spawn(process.execPath, [edgeBin, '-c', file], { stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { log += d })
  const deadline = Date.now() + 10_000
  while (!log.includes(' started with ')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${name} did not start: ${log}`)
    await new Promise((r) => setTimeout(r, 20))
  }
  return child
}

/** ms from connect to the first video keyframe tag of an HTTP-FLV response. */
function timeToKeyframe(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const socket = connect(port, '127.0.0.1')
    const reader = new FlvReader()
    let head = true
    let pending = Buffer.alloc(0)
    const timer = setTimeout(() => { socket.destroy(); reject(new Error('no keyframe within 10 s')) }, 10_000)
    socket.on('connect', () => socket.write(`GET ${path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n`))
    socket.on('data', (d: Buffer) => {
      if (head) {
        pending = Buffer.concat([pending, d])
        const end = pending.indexOf('\r\n\r\n')
        if (end === -1) return
        head = false
        d = pending.subarray(end + 4)
      }
      reader.push(d)
      for (const tag of reader.drain()) {
        const v = tag.typeId === 9 ? inspectVideo(tag.payload, 12) : null
        if (v !== null && v.keyframe && !v.sequenceHeader) {
          clearTimeout(timer)
          socket.destroy()
          resolve(performance.now() - t0)
          return
        }
      }
    })
    socket.on('error', (err) => { clearTimeout(timer); reject(err) })
  })
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

function establishedTo(port: number): number {
  const r = spawnSync('ss', ['-Htn', 'state', 'established', `( dport = :${port} )`], { encoding: 'utf8' })
  return r.stdout.split('\n').filter((l) => l.trim() !== '').length
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'edge-pull-bench-'))
  const [oRtmp, oHttp, eRtmp, eHttp] = [await freePort(), await freePort(), await freePort(), await freePort()]
  const procs: ChildProcess[] = []
  try {
    procs.push(await startEdge(dir, 'origin', `rtmp { server { listen ${oRtmp}; application live { live on; cache_time 1s; send_all on; } } }
http { server { listen ${oHttp}; location /live { flv_live ${oRtmp}; } } }\n`))
    procs.push(await startEdge(dir, 'edge', `rtmp { server { listen ${eRtmp}; application live { live on; cache_time 1s; send_all on;
  pull rtmp://127.0.0.1:${oRtmp} app=live; } } }
http { server { listen ${eHttp}; location /live { flv_live ${eRtmp}; } } }\n`))
    const ffmpeg = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', media,
      '-c', 'copy', '-f', 'flv', `rtmp://127.0.0.1:${oRtmp}/live/s1`], { stdio: 'ignore' })
    procs.push(ffmpeg)
    await timeToKeyframe(oHttp, '/live/s1') // the origin has media and a GOP cache
    await new Promise((r) => setTimeout(r, 2500))

    const direct: number[] = []
    const pulled: number[] = []
    for (let i = 0; i < TRIALS; i++) {
      direct.push(await timeToKeyframe(oHttp, '/live/s1'))
      // the previous player left, so the edge's pull stopped: this one starts it again (cold)
      pulled.push(await timeToKeyframe(eHttp, '/live/s1'))
      await new Promise((r) => setTimeout(r, 100))
    }
    const d = median(direct)
    const p = median(pulled)
    console.log(`cold start, connect → first keyframe (HTTP-FLV, median of ${TRIALS}, alternating):`)
    console.log(`  origin directly: ${d.toFixed(1)} ms   through the edge (pull started by the player): ${p.toFixed(1)} ms`)
    console.log(`  ratio ${(p / d).toFixed(2)}×, difference ${(p - d).toFixed(1)} ms (goal ≤ 1.1× plus 50 ms: ${p <= d * 1.1 + 50 ? 'met' : 'NOT met'})`)

    const sockets = await Promise.all(Array.from({ length: PLAYERS }, async () => {
      const s = connect(eHttp, '127.0.0.1')
      await once(s, 'connect')
      s.write('GET /live/s1 HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n')
      await once(s, 'data')
      s.on('data', () => {})
      return s
    }))
    const atOrigin = establishedTo(oRtmp) - 1 // minus ffmpeg's publishing connection
    console.log(`${PLAYERS} HTTP-FLV players on one pulled stream: the origin has ${atOrigin} pull connection(s) (goal: 1)`)
    for (const s of sockets) s.destroy()
  } finally {
    for (const c of procs) c.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
