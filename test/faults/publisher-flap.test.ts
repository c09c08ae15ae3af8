// Issue 9 (part 4), fault group 4: publisher flapping. 50 times, a real ffmpeg connects,
// publishes one second of the test media (`-re -t 1`) and disconnects: five streams flap at
// once, ten times each, one after the other on each stream. Each flapping stream has an RTMP
// player that stays through all of it. A witness stream is published by another ffmpeg and
// played over HTTP-FLV meanwhile (test/helpers/witness.ts). Asserted:
//   - every ffmpeg run published (one `publish:` line each) and exited 0; each of those
//     sessions ended with exactly one `close:` line;
//   - each flapping stream's player got media from every one of its ten publishers (StreamBegin
//     and StreamEOF ten times, RTMP User Control events 0 and 1) and was never closed;
//   - the witness received media all through, with no gap over 1 s;
//   - once the players have left, the edge holds exactly the descriptors it held before the
//     first flap, and its RSS is within 20 MiB of what it was.
import t from 'tap'
import { MSG_VIDEO } from '../../lib/rtmp/constants.js'
import { runProcess } from '../helpers/edge.js'
import { startLiveEdge, TEST_MEDIA } from '../helpers/node.js'
import { isUserControl } from '../helpers/pull-scenarios.js'
import { RtmpTestClient } from '../helpers/rtmp-client.js'
import { baseline, expectBaseline, linesByPeerPort, wallMs, Witness } from '../helpers/witness.js'

const FFMPEG = '/usr/bin/ffmpeg'
const STREAMS = 5
const FLAPS_PER_STREAM = 10
/** bound on one ffmpeg run of one second of media (start-up, connect, publish, close) */
const FFMPEG_RUN_MS = 15_000
/** User Control events (RTMP 7.1.7) */
const UC_STREAM_BEGIN = 0
const UC_STREAM_EOF = 1

t.test(`${STREAMS * FLAPS_PER_STREAM} publishers that publish one second each and leave`, { timeout: 90_000 }, async (t) => {
  const { edge, rtmpPort, httpPort } = await startLiveEdge(t, { server: 'timeout 2s;', flv: { '/flv': '' } })
  const witness = await Witness.start(t, edge, rtmpPort, httpPort)
  const { base, fds } = baseline(edge)
  const names = Array.from({ length: STREAMS }, (_, i) => `flap${i}`)

  // a player per flapping stream, waiting before the first publisher (idle_streams on)
  const players = await Promise.all(names.map(async (name) => {
    const p = await RtmpTestClient.open(rtmpPort)
    t.teardown(() => p.close())
    await p.connectApp('live', {}, rtmpPort)
    const status = await p.play(name)
    if (RtmpTestClient.code(status) !== 'NetStream.Play.Start') throw new Error(`play ${name}: ${RtmpTestClient.code(status)}`)
    return p
  }))

  const from = wallMs()
  const runs = await Promise.all(names.map(async (name) => {
    const codes: (number | null)[] = []
    for (let i = 0; i < FLAPS_PER_STREAM; i++) {
      const r = await runProcess(FFMPEG, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-re', '-i', TEST_MEDIA,
        '-t', '1', '-c', 'copy', '-f', 'flv', `rtmp://127.0.0.1:${rtmpPort}/live/${name}`], { timeoutMs: FFMPEG_RUN_MS })
      if (r.code !== 0) t.comment(`ffmpeg → ${name}: exit ${r.code ?? r.signal}: ${r.stderr}`)
      codes.push(r.code)
    }
    return codes
  }))
  t.same(runs.flat().filter((c) => c !== 0), [], `all ${STREAMS * FLAPS_PER_STREAM} ffmpeg runs exited 0`)
  await witness.expectFlowing(t, from)

  // every publish has its close: each publisher's session is found by its peer port (its close
  // line can reach the test after ffmpeg's exit, so each is waited for)
  const publishers = (): [number, string[]][] => [...linesByPeerPort(edge.log()).entries()]
    .filter(([, lines]) => lines.some((l) => /publish: name='flap\d'/.test(l)))
  for (const [port] of publishers()) {
    await edge.waitForLog(new RegExp(` close: [^\\n]*client: [0-9.]*:${port}(?:,|$)`, 'm'), 5000).catch((err: Error) => t.fail(err.message))
  }
  const sessions = publishers()
  t.equal(sessions.length, STREAMS * FLAPS_PER_STREAM, `${sessions.length} publishing sessions logged`)
  const unclosed = sessions.filter(([, lines]) => lines.filter((l) => / close: /.test(l)).length !== 1)
  t.same(unclosed, [], 'each ended with exactly one close: line')

  for (const [i, p] of players.entries()) {
    const begins = p.messages.filter((m) => isUserControl(m, UC_STREAM_BEGIN)).length
    const eofs = p.messages.filter((m) => isUserControl(m, UC_STREAM_EOF)).length
    const video = p.messages.filter((m) => m.typeId === MSG_VIDEO).length
    t.same({ begins, eofs, closed: p.closed }, { begins: FLAPS_PER_STREAM, eofs: FLAPS_PER_STREAM, closed: false },
      `${names[i]}'s player: ${begins} StreamBegin, ${eofs} StreamEOF, ${video} video messages, still connected`)
  }

  for (const p of players) await p.close()
  await expectBaseline(t, edge, base, fds)
  t.notMatch(edge.log(), /\[(alert|crit|emerg)\]|internal error/, 'no [alert], [crit] or internal error lines')
})
