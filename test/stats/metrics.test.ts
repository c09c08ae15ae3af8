// Issue 12, item 3: `/metrics` (edge_metrics) in Prometheus' text format, scraped from a real
// node after the test did known things to it, each counter checked against what was done:
//
//   ffmpeg ──► E live/cam1 ──push──► O live/cam1        (O: another edge process, the origin)
//                 │  └──push──► a closed port         (a push leg that keeps failing)
//                 │
//   players on E: ffprobe, R (RTMP), H (HTTP-FLV) play live/cam1 (each asks on_play);
//                 P (RTMP) plays edge/cam1, which E pulls from O live/cam1;
//                 two more are refused by on_play: one answered 403, one never answered;
//   then a reload (SIGHUP) that applies, and one of a broken file that does not.
//
// Every line must be valid exposition format (HELP and TYPE before a family's samples, one
// group per family, no series twice, histograms cumulative), and the values must be what the
// test did: players joined by protocol, bytes sent at least what the players received, the
// notify histogram's count per call equal to the requests the notify server got, one pull
// attempt timed to its first keyframe, the relay legs by state and failure, one reload of each
// result. A second node has players that never read: after frames were dropped for them, one
// is closed past the hard queue limit and two (RTMP and HTTP-FLV) by the send timeout.
import { once } from 'node:events'
import { readFileSync, writeFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { inspectVideo } from '../../lib/media/codec.js'
import { MSG_VIDEO } from '../../lib/rtmp/constants.js'
import { ffmpegMissing } from '../helpers/cluster.js'
import { freePort, publish, startEdge, startLiveEdge, type EdgeProcess } from '../helpers/node.js'
import { byCase, callOf, notifyServer, rtmpClient } from '../helpers/notify.js'
import { metricsOf, scrape, scrapeUntil } from '../helpers/prometheus.js'
import { ffprobeStreams, H264_AAC } from '../helpers/pull-scenarios.js'
import { RawHttpClient } from '../helpers/raw-http.js'
import { RtmpTestClient, type Received } from '../helpers/rtmp-client.js'

/** bound on a publish, a relay leg or a player getting going */
const READY_MS = 15_000
/** on_play's timeout=: the callout that is never answered fails after it */
const NOTIFY_TIMEOUT_S = 1
const MiB = 1024 * 1024
/** the slow players' node: `timeout` (output stuck this long closes a player) and max_message */
const SEND_TIMEOUT_S = 3
const MAX_MESSAGE_MIB = 32
/** the scripted publisher's frames: fast enough to fill a stalled player's kernel buffers in a second */
const FRAME_BYTES = 256 * 1024
const FRAME_MS = 20
/** a keyframe every this many frames */
const GOP_FRAMES = 25
/**
 * A message near RTMP's largest (a 24-bit length): the second stalled player is written one
 * keyframe and one sequence header this big (headers pass the soft limit), more than the hard
 * limit (8 MiB) plus all the kernel takes for it.
 */
const HUGE_FRAME_BYTES = 15 * MiB
const CSID_VIDEO = 7
/** how often rtmp_stat is read while waiting for the stalled players to drop */
const STAT_INTERVAL_MS = 50
/** AVC sequence header (avcC with no parameter sets): enough for the edge to classify the stream */
const AVC_HEADER = Buffer.from([0x17, 0x00, 0, 0, 0, 0x01, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0, 0])

/** A video keyframe (not a sequence header) reached the RTMP client. */
function isKeyframe(m: Received): boolean {
  const v = m.typeId === MSG_VIDEO ? inspectVideo(m.payload) : null
  return v !== null && v.keyframe && !v.sequenceHeader
}

function nodeConf(rtmpPort: number, httpPort: number, notifyPort: number, originPort: number, closedPort: number): string {
  return `events {}
rtmp {
    server {
        listen 127.0.0.1:${rtmpPort};
        serverid edge;
        application live {
            live on;
            on_publish http://127.0.0.1:${notifyPort}/publish;
            on_play http://127.0.0.1:${notifyPort}/play args=$pargs timeout=${NOTIFY_TIMEOUT_S}s;
            push rtmp://127.0.0.1:${originPort} app=live;
            push rtmp://127.0.0.1:${closedPort} app=live;
        }
        application edge {
            live on;
            pull rtmp://127.0.0.1:${originPort} app=live;
        }
    }
}
http {
    server {
        listen 127.0.0.1:${httpPort};
        location /flv { flv_live 127.0.0.1:${rtmpPort}; }
        location /metrics { edge_metrics; }
    }
}
`
}

t.test('the metrics of a node with a publisher, players, pull and push legs, notify calls and reloads', {
  timeout: 120_000, skip: ffmpegMissing(),
}, async (t) => {
  const notify = await notifyServer(t, byCase)
  const origin = await startLiveEdge(t)
  const [rtmpPort, httpPort, closedPort] = [await freePort(), await freePort(), await freePort()]
  const edge: EdgeProcess = await startEdge(nodeConf(rtmpPort, httpPort, notify.port, origin.rtmpPort, closedPort))
  t.teardown(() => edge.stop())
  const confFile = join(edge.dir, 'nginx.conf')
  const confText = readFileSync(confFile, 'utf8')

  const before = await metricsOf(t, httpPort, 'a node just started')
  t.equal(before.value('edge_streams'), 0, 'no stream yet')
  t.equal(before.value('edge_config_reloads_total', { result: 'success' }), 0, 'no reload yet')
  t.equal(before.value('edge_config_last_reload_successful'), 1, 'the configuration in force loaded')
  t.ok(Math.abs(before.value('edge_config_last_reload_success_timestamp_seconds') - Date.now() / 1000) < 60, 'loaded just now (Unix seconds)')

  const publisher = publish(`rtmp://127.0.0.1:${rtmpPort}/live/cam1`)
  t.teardown(() => publisher.stop())
  await edge.waitForLog("publish: name='cam1'", READY_MS)
  await origin.edge.waitForLog("publish: name='cam1'", READY_MS)
  await edge.waitForLog(/push: closed: /, READY_MS)

  t.same(await ffprobeStreams(`rtmp://127.0.0.1:${rtmpPort}/live/cam1`), H264_AAC, 'ffprobe plays live/cam1 over RTMP')
  const r = await rtmpClient(t, rtmpPort, 'live')
  t.equal(RtmpTestClient.code(await r.play('cam1')), 'NetStream.Play.Start', 'R plays live/cam1')
  await r.next(isKeyframe, READY_MS)
  const h = await RawHttpClient.request(httpPort, '/flv/cam1?app=live')
  t.teardown(() => h.socket.destroy())
  await h.until(() => h.tags.some((tag) => tag.typeId === MSG_VIDEO), READY_MS, 'video at H')
  t.equal(h.status, 200, 'H plays live/cam1 over HTTP-FLV')
  const p = await rtmpClient(t, rtmpPort, 'edge')
  t.equal(RtmpTestClient.code(await p.play('cam1')), 'NetStream.Play.Start', 'P plays edge/cam1')
  await p.next(isKeyframe, READY_MS)
  const refused = await rtmpClient(t, rtmpPort, 'live')
  t.equal(RtmpTestClient.code(await refused.play('cam1?case=403')), 'NetStream.Play.Forbidden', 'on_play 403: refused')
  const unanswered = await rtmpClient(t, rtmpPort, 'live')
  t.not(RtmpTestClient.code(await unanswered.play('cam1?case=hang')), 'NetStream.Play.Start', 'on_play never answered: not played')

  process.kill(edge.child.pid as number, 'SIGHUP')
  await edge.waitForLog('reconfigured', READY_MS)
  writeFileSync(confFile, `${confText}bogus_directive on;\n`)
  process.kill(edge.child.pid as number, 'SIGHUP')
  await edge.waitForLog('unknown directive "bogus_directive"', READY_MS)
  writeFileSync(confFile, confText)

  const m = await metricsOf(t, httpPort, 'after the test\'s actions')
  t.equal(m.value('edge_streams'), 2, 'two streams: live/cam1 and edge/cam1')
  t.equal(m.value('edge_publishers'), 1, 'one publisher (the pull leg is not one)')
  t.equal(m.value('edge_players', { protocol: 'flv' }), 1, 'one HTTP-FLV player now')
  t.equal(m.value('edge_players_joined_total', { protocol: 'rtmp' }), 3, 'RTMP players joined: ffprobe, R, P (not the refused ones)')
  t.equal(m.value('edge_players_joined_total', { protocol: 'flv' }), 1, 'HTTP-FLV players joined: H')
  t.equal(m.value('edge_publishers_joined_total'), 1, 'publishers joined: ffmpeg')
  t.ok(m.value('edge_rtmp_connections_accepted_total') >= 6, 'RTMP connections accepted: ffmpeg, ffprobe, R, P, the two refused (H is HTTP)')
  const received = r.socket.bytesRead + h.bytesReceived + p.socket.bytesRead + refused.socket.bytesRead + unanswered.socket.bytesRead
  const sent = m.value('edge_sent_bytes_total')
  t.ok(sent >= received, `bytes sent (${sent}) ≥ what R, H, P and the refused players received (${received})`)
  t.ok(m.value('edge_received_bytes_total') > 0, 'bytes received from the publisher')

  // relay legs: O's push and the pull relay; the push to the closed port keeps failing
  t.equal(m.value('edge_relay_legs', { kind: 'pull', state: 'relaying' }), 1, 'the pull leg relays')
  t.equal(m.value('edge_relay_legs', { kind: 'push', state: 'relaying' }), 1, 'the push to O relays')
  t.equal(m.sum('edge_relay_legs', { kind: 'push' }), 2, 'two push legs')
  t.equal(m.sum('edge_relay_legs', { kind: 'pull' }), 1, 'one pull leg')
  t.equal(m.value('edge_relay_legs_failing', { kind: 'push', reason: 'connect_error' }), 1, 'the push to the closed port: its last attempt could not connect')
  t.equal(m.sum('edge_relay_legs_failing'), 1, 'no other leg failing')
  t.ok(m.value('edge_relay_failures_total', { kind: 'push', reason: 'connect_error' }) >= 1, 'its failed attempts are counted')
  t.equal(m.sum('edge_relay_failures_total', { kind: 'pull' }), 0, 'the pull never failed')
  t.equal(m.value('edge_pull_first_keyframe_seconds_count'), 1, 'one pull attempt timed to its first keyframe')
  const ttfk = m.value('edge_pull_first_keyframe_seconds_sum')
  t.ok(ttfk > 0 && ttfk < READY_MS / 1000, `the origin's first keyframe came ${ttfk.toFixed(3)} s after the attempt's start`)

  // notify: one histogram observation per request the server got, by call
  for (const call of ['play', 'publish']) {
    const made = notify.requests.filter((q) => callOf(q) === call).length
    t.equal(m.value('edge_notify_request_duration_seconds_count', { call }), made, `on_${call}: ${made} callouts, all timed`)
  }
  t.equal(notify.requests.filter((q) => callOf(q) === 'play').length, 5, 'on_play asked for ffprobe, R, H and the two refused')
  t.equal(m.value('edge_notify_failures_total', { call: 'play', reason: 'status_4xx' }), 1, 'on_play: one 403')
  t.equal(m.value('edge_notify_failures_total', { call: 'play', reason: 'timeout' }), 1, 'on_play: one never answered')
  t.equal(m.sum('edge_notify_failures_total', { call: 'publish' }), 0, 'on_publish never failed')
  t.ok(m.value('edge_notify_request_duration_seconds_sum', { call: 'play' }) >= NOTIFY_TIMEOUT_S, 'the unanswered callout took its timeout')
  t.equal(m.value('edge_notify_request_duration_seconds_bucket', { call: 'play', le: '0.5' }), 4, 'the four answered within 0.5 s')

  t.equal(m.value('edge_config_reloads_total', { result: 'success' }), 1, 'one reload applied')
  t.equal(m.value('edge_config_reloads_total', { result: 'failure' }), 1, 'one reload failed')
  t.equal(m.value('edge_config_last_reload_successful'), 0, 'the last one failed')
  t.ok(m.value('edge_config_last_reload_success_timestamp_seconds') > before.value('edge_config_last_reload_success_timestamp_seconds'),
    'the configuration in force is the reloaded one')
})

/** An FLV video body of `bytes`: an AVC keyframe or inter frame, or (`header`) a sequence header. */
function videoFrame(bytes: number, key: boolean, header = false): Buffer {
  const b = Buffer.alloc(bytes, 0x11)
  b[0] = key ? 0x17 : 0x27
  b[1] = header ? 0x00 : 0x01
  return b
}

/** An HTTP-FLV player that sends its request and never reads; destroyed in teardown. */
async function stalledPlayer(t: Test, port: number, target: string): Promise<Socket> {
  const s = connect(port, '127.0.0.1')
  t.teardown(() => { s.destroy() })
  s.on('error', () => {})
  await once(s, 'connect', { signal: AbortSignal.timeout(READY_MS) })
  s.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)
  s.pause()
  return s
}

/** rtmp_stat's players (JSON) have had frames dropped, each: both are over the soft limit. */
async function bothDropping(httpPort: number): Promise<void> {
  const deadline = Date.now() + READY_MS
  for (;;) {
    const stat = JSON.parse((await scrape(httpPort, '/stat')).text) as { rtmp: { servers: { live: { streams: { clients: { publishing: boolean, dropped: number }[] }[] } }[] } }
    const players = stat.rtmp.servers.flatMap((sv) => sv.live.streams.flatMap((st) => st.clients.filter((c) => !c.publishing)))
    if (players.length === 2 && players.every((c) => c.dropped > 0)) return
    if (Date.now() >= deadline) throw new Error(`the stalled players were not both dropping within ${READY_MS} ms: ${JSON.stringify(players)}`)
    await delay(STAT_INTERVAL_MS)
  }
}

t.test('players that never read: frames dropped, one closed past the hard limit, two by the send timeout', { timeout: 60_000 }, async (t) => {
  const [rtmpPort, httpPort] = [await freePort(), await freePort()]
  const edge = await startEdge(`events {}
rtmp {
    server {
        listen 127.0.0.1:${rtmpPort};
        timeout ${SEND_TIMEOUT_S}s;
        max_message ${MAX_MESSAGE_MIB}m;
        application live { live on; }
    }
}
http {
    server {
        listen 127.0.0.1:${httpPort};
        location /flv { flv_live 127.0.0.1:${rtmpPort}; }
        location /metrics { edge_metrics; }
        location /stat { rtmp_stat all; rtmp_stat_format json; }
    }
}
`)
  t.teardown(() => edge.stop())
  const pub = await rtmpClient(t, rtmpPort, 'live')
  t.equal(RtmpTestClient.code(await pub.publish('fast')), 'NetStream.Publish.Start', 'the scripted publisher publishes')
  pub.setChunkSize(65536)
  pub.send(CSID_VIDEO, MSG_VIDEO, 1, 0, AVC_HEADER)
  let n = 0
  const frames = (bytes: number): NodeJS.Timeout => setInterval(() => {
    pub.send(CSID_VIDEO, MSG_VIDEO, 1, n * FRAME_MS, videoFrame(bytes, n % GOP_FRAMES === 0))
    n++
  }, FRAME_MS)
  let source = frames(FRAME_BYTES)
  t.teardown(() => clearInterval(source))

  // the first stalled players, one of each protocol: the kernel's buffers fill, then 2 MiB
  // unsent, then frames are dropped
  const first = await stalledPlayer(t, httpPort, '/flv/fast?app=live')
  const firstRtmp = await rtmpClient(t, rtmpPort, 'live')
  t.equal(RtmpTestClient.code(await firstRtmp.play('fast')), 'NetStream.Play.Start', 'the stalled RTMP player plays')
  firstRtmp.socket.pause()
  await bothDropping(httpPort)
  const dropping = await metricsOf(t, httpPort, 'frames dropped')
  t.ok(dropping.value('edge_player_dropped_frames_total') > 0, 'frames dropped are counted')
  t.equal(dropping.value('edge_players_joined_total', { protocol: 'flv' }), 1, 'the first stalled HTTP-FLV player joined')

  // the second joins while the source holds still, and is written past the hard limit at once;
  // the first, dropping, gets none of it
  clearInterval(source)
  const second = await stalledPlayer(t, httpPort, '/flv/fast?app=live')
  await scrapeUntil(httpPort, (e) => e.value('edge_players_joined_total', { protocol: 'flv' }) === 2, 'the second player joined', READY_MS)
  pub.send(CSID_VIDEO, MSG_VIDEO, 1, n * FRAME_MS, videoFrame(HUGE_FRAME_BYTES, true))
  pub.send(CSID_VIDEO, MSG_VIDEO, 1, n * FRAME_MS, videoFrame(HUGE_FRAME_BYTES, true, true))
  pub.send(CSID_VIDEO, MSG_VIDEO, 1, ++n * FRAME_MS, videoFrame(FRAME_BYTES, false))
  n++
  // small frames from here on: the publisher stays (its reads are bounded by `timeout` too)
  source = frames(1024)
  await edge.waitForLog(new RegExp(`flv close: slow player: \\d+ bytes unsent[^\\n]*client: 127\\.0\\.0\\.1:${second.localPort ?? 0}`), READY_MS)
  await edge.waitForLog(new RegExp(`flv close: send timed out, \\d+ bytes unsent[^\\n]*client: 127\\.0\\.0\\.1:${first.localPort ?? 0}`), READY_MS)
  await edge.waitForLog(new RegExp(` close: send timed out, \\d+ bytes unsent[^\\n]*client: 127\\.0\\.0\\.1:${firstRtmp.socket.localPort ?? 0}`), READY_MS)

  const m = await metricsOf(t, httpPort, 'after the slow players')
  t.equal(m.value('edge_slow_players_closed_total', { reason: 'queue_limit' }), 1, 'one player closed past the hard limit')
  t.equal(m.value('edge_slow_players_closed_total', { reason: 'send_timeout' }), 2, 'two players closed by the send timeout (RTMP and HTTP-FLV)')
  t.ok(m.value('edge_player_dropped_frames_total') >= dropping.value('edge_player_dropped_frames_total'), 'the drops stay counted after the players left')
  // the stalled players held megabytes in Node's buffers when `dropping` was read; those are
  // thrown away as they are closed: what was counted as sent must not be taken back
  t.ok(m.value('edge_sent_bytes_total') >= dropping.value('edge_sent_bytes_total'), 'bytes sent never go back')
  t.equal(m.sum('edge_players'), 0, 'no player left')
})
