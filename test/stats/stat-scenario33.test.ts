// Scenario 33 (pingos-behaviour.md §13, §9.1; pingos-observed.md §9): one pulled stream with two
// players. The origin is another edge with ffmpeg publishing into it; the node under test has
// `listen <port>` and `pull rtmp://127.0.0.1:<origin> app=live;`; rtmpdump plays over RTMP
// (and so starts the pull) and a raw socket over HTTP-FLV. /rtmp_stat is read as a monitoring
// client would: status, headers, CRLF lines, and the tree PingOS writes.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import t from 'tap'
import { MSG_VIDEO } from '../../lib/rtmp/constants.js'
import { header } from '../helpers/raw-http.js'
import { playerH } from '../helpers/pull-scenarios.js'
import {
  all, clientsOf, descendants, listsClients, one, parseStatXml, skeleton, startOrigin, startStatEdge, STAT_WAIT_MS, statWhen,
  streamsOf, textOf,
} from '../helpers/stats.js'

const RTMPDUMP = '/usr/bin/rtmpdump'

t.test('33: /rtmp_stat of a pulled stream with an RTMP and an HTTP-FLV player', { skip: existsSync(RTMPDUMP) ? false : `not installed: ${RTMPDUMP}` }, async (t) => {
  const origin = await startOrigin(t)
  const node = await startStatEdge(t, { live: `pull rtmp://127.0.0.1:${origin.rtmpPort} app=live;` })
  const dump = spawn(RTMPDUMP, ['-q', '-v', '-r', `rtmp://127.0.0.1:${node.rtmpPort}/live/cam1`, '-o', '/dev/null'], { stdio: 'ignore' })
  const dumpExited = once(dump, 'exit')
  t.teardown(async () => {
    if (dump.exitCode === null && dump.signalCode === null) {
      dump.kill('SIGKILL')
      await dumpExited
    }
  })
  await node.edge.waitForLog(/pull: publishing, app: live, name: cam1/, STAT_WAIT_MS)
  const h = await playerH(t, node.httpPort, { target: '/flv/cam1?app=live' })
  await h.until(() => h.tags.some((tag) => tag.typeId === MSG_VIDEO), STAT_WAIT_MS, 'video at the HTTP-FLV player')
  await statWhen(node, listsClients('cam1', 3))

  const res = await node.get('/rtmp_stat')
  t.equal(res.status, 200, '200')
  t.equal(header(res, 'Content-Type'), 'text/xml', 'Content-Type: text/xml')
  t.equal(header(res, 'Content-Length'), String(res.body.length), 'Content-Length is the body\'s length')
  const doc = res.body.toString('utf8')
  t.doesNotThrow(() => skeleton(doc), 'every line ends with CRLF')
  t.ok(doc.endsWith('</rtmp>\r\n'), 'the last line too')
  t.ok(doc.startsWith('<?xml version="1.0" encoding="utf-8" ?>\r\n<rtmp>\r\n'), 'the declaration line, then <rtmp>')

  const rtmp = parseStatXml(doc)
  t.equal(rtmp.name, 'rtmp', 'root <rtmp>')
  const server = one(rtmp, 'server')
  t.equal(textOf(server, 'serverid'), 'edge', '<server> → <serverid>edge</serverid>')
  const streams = streamsOf(rtmp)
  t.equal(streams.length, 1, '<live> → one <stream>')
  const s = streams[0]
  t.equal(textOf(s, 'name'), 'cam1', '<name>cam1</name>')
  t.same([...descendants(rtmp, 'application'), ...descendants(rtmp, 'app')], [], 'no <application> or <app> anywhere')

  const clients = clientsOf(s)
  t.equal(clients.length, 3, 'three <client>')
  const legs = clients.filter((c) => c.publishing)
  t.equal(legs.length, 1, 'one client <publishing/>: the pull leg')
  t.equal(legs[0]?.id, 0, 'the pull leg: <id>0</id>')
  t.equal(legs[0]?.remote, '', 'the pull leg: empty <remote_address>')
  const players = clients.filter((c) => !c.publishing)
  t.same(players.map((c) => c.remote), ['127.0.0.1', '127.0.0.1'], 'two players from 127.0.0.1')
  t.ok(players.every((c) => c.id > 0), 'the players have connection numbers')
  const rtmpPlayer = players.find((c) => c.flashver !== null)
  t.ok(rtmpPlayer !== undefined && players.filter((c) => c.flashver === null).length === 1,
    'the RTMP player has a <flashver>, the HTTP-FLV player none')
  t.equal(legs[0]?.flashver, rtmpPlayer?.flashver, 'the pull leg carries the flashver of rtmpdump, which started it')
  t.same(clients.map((c) => c.address), [node.listenText, node.listenText, node.listenText], `each <address> is ${node.listenText} (the listen text)`)
  t.equal(textOf(s, 'nclients'), '3', 'the stream\'s <nclients>3</nclients>')
  t.equal(textOf(one(server, 'live'), 'nclients'), '3', '<live>\'s <nclients>3</nclients>')
  t.equal(all(s, 'publishing').length, 1, 'the stream is <publishing/>')
})
