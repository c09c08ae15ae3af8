// The cost of an origin pull, measured end to end with real processes on 127.0.0.1:
// (1) cold start: time from an HTTP-FLV player's connect to its first video keyframe through an
//     edge that must start the pull, as a ratio to the same player on the origin directly,
//     alternating the two in one run (goal ≤ 1.1× plus 50 ms);
// (2) 500 players of one pulled stream: how many connections the origin sees (goal: one).
// Origin: an edge with `cache_time 1s` fed by ffmpeg looping the test media.
import { spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { connect } from 'node:net'
import { FlvReader } from '../../lib/flv/reader.js'
import { inspectVideo } from '../../lib/media/codec.js'
import { freePort, publish, startEdge, type EdgeProcess, type Publisher } from '../../test/helpers/node.js'

const TRIALS = 15
const PLAYERS = 500
/** the origin's GOP cache (cache_time 1s) is full after this much published media */
const WARM_UP_MS = 2500

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

/** Wait (bounded) until the origin has only the publisher's connection: the edge's pull is gone. */
async function pullGone(originPort: number): Promise<void> {
  const deadline = Date.now() + 5000
  while (establishedTo(originPort) > 1) {
    if (Date.now() > deadline) throw new Error('the pull did not stop')
    await new Promise((r) => setTimeout(r, 5))
  }
}

async function main(): Promise<void> {
  const [oRtmp, oHttp, eRtmp, eHttp] = [await freePort(), await freePort(), await freePort(), await freePort()]
  const running: (EdgeProcess | Publisher)[] = []
  try {
    running.push(await startEdge(`events {}
rtmp { server { listen ${oRtmp}; application live { live on; cache_time 1s; send_all on; } } }
http { server { listen ${oHttp}; location /live { flv_live ${oRtmp}; } } }\n`, { level: 'notice' }))
    running.push(await startEdge(`events {}
rtmp { server { listen ${eRtmp}; application live { live on; cache_time 1s; send_all on;
  pull rtmp://127.0.0.1:${oRtmp} app=live; } } }
http { server { listen ${eHttp}; location /live { flv_live ${eRtmp}; } } }\n`, { level: 'notice' }))
    running.push(publish(`rtmp://127.0.0.1:${oRtmp}/live/s1`))
    await timeToKeyframe(oHttp, '/live/s1') // the origin has media
    await new Promise((r) => setTimeout(r, WARM_UP_MS))

    const direct: number[] = []
    const pulled: number[] = []
    for (let i = 0; i < TRIALS; i++) {
      direct.push(await timeToKeyframe(oHttp, '/live/s1'))
      // the previous player left, so the edge's pull stopped: this one starts it again (cold)
      pulled.push(await timeToKeyframe(eHttp, '/live/s1'))
      await pullGone(oRtmp)
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
    for (const r of running.reverse()) await r.stop()
  }
}

await main()
