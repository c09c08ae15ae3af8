// rtmp_control redirect (pingos-behaviour.md §9.2; pingos-observed.md §15; docs/compat.md,
// Operations): `redirect/subscriber …&newname=<name>` moves the selected players to another
// stream and answers their count; `redirect/publisher` makes a publisher publish under the new
// name. An RTMP player gets StreamEOF and no second Play.Start (as PingOS's, observed §15), then
// the new stream's media (its play goes through the pipeline again, so a pull of it starts); an
// HTTP-FLV player's response goes on with the new stream's tags; a redirected publisher's
// metadata and sequence headers, which its encoder sent once, go first into the new stream.
import t from 'tap'
import { MSG_DATA_AMF0, MSG_VIDEO } from '../../lib/rtmp/constants.js'
import { publish } from '../helpers/node.js'
import { clientIdFromLog } from '../helpers/notify.js'
import { pacedPublisher } from '../helpers/push-scenarios.js'
import { isKeyframeMessage, isUserControl, mediaCount, playerH, playerR } from '../helpers/pull-scenarios.js'
import { clientsOf, listsClients, startOrigin, startStatEdge, STAT_WAIT_MS, statWhen, streamNamed, streamsOf, textOf } from '../helpers/stats.js'

/** User Control event StreamEOF (RTMP 7.1.7) */
const STREAM_EOF = 1

t.test('redirect/subscriber newname=cam2: both players move to cam2, pulled in turn', async (t) => {
  const origin = await startOrigin(t)
  const cam2 = publish(`rtmp://127.0.0.1:${origin.rtmpPort}/live/cam2`)
  t.teardown(() => cam2.stop())
  await origin.edge.waitForLog("publish: name='cam2'", STAT_WAIT_MS)
  const node = await startStatEdge(t, { live: `pull rtmp://127.0.0.1:${origin.rtmpPort} app=live;` })
  const r = (await playerR(t, node.rtmpPort, { name: 'cam1' })).client
  await r.until(() => mediaCount(r) > 0, STAT_WAIT_MS, 'media at the RTMP player')
  const h = await playerH(t, node.httpPort, { target: '/flv/cam1?app=live' })
  await h.until(() => h.tags.some((tag) => tag.typeId === MSG_VIDEO), STAT_WAIT_MS, 'video at the HTTP-FLV player')
  const rId = await clientIdFromLog(node.edge, r.socket.localPort ?? 0)
  const hId = await clientIdFromLog(node.edge, h.localPort)
  await statWhen(node, listsClients('cam1', 3))

  const rFrom = r.messages.length
  const hFrom = h.tags.length
  const res = await node.get('/control/redirect/subscriber?srv=edge&app=live&name=cam1&newname=cam2')
  t.equal(res.status, 200, '200')
  t.equal(res.body.toString('latin1'), '2', 'body 2: the two players (the pull leg publishes)')

  const eof = await r.next((m) => isUserControl(m, STREAM_EOF), STAT_WAIT_MS, rFrom)
  await r.next(isKeyframeMessage, STAT_WAIT_MS, r.messages.indexOf(eof))
  t.pass('the RTMP player: StreamEOF(1), then cam2 from a keyframe')
  t.same(r.messages.slice(rFrom).filter((m) => m.values?.[0] === 'onStatus').map((m) => m.values?.[3]), [], 'and no onStatus: no second Play.Start')
  await origin.edge.waitForLog("play: name='cam2'", STAT_WAIT_MS)
  t.pass('the origin is asked for cam2')
  await h.until(() => h.tags.slice(hFrom).some((tag) => tag.typeId === MSG_DATA_AMF0), STAT_WAIT_MS, 'metadata of cam2')
  const meta = h.tags.slice(hFrom).findIndex((tag) => tag.typeId === MSG_DATA_AMF0) + hFrom
  await h.until(() => h.tags.slice(meta).some((tag) => tag.typeId === MSG_VIDEO), STAT_WAIT_MS, 'video of cam2')
  t.notOk(h.bodyError, 'the HTTP-FLV response goes on, well-formed, with cam2\'s metadata and video')

  const rtmp = await statWhen(node, (x) => listsClients('cam2', 3)(x) && !streamsOf(x).some((s) => textOf(s, 'name') === 'cam1'))
  t.same(clientsOf(streamNamed(rtmp, 'cam2')).map((c) => c.id).sort((a, b) => a - b), [0, hId, rId].sort((a, b) => a - b),
    'cam2 lists the two players (their ids kept) and its own pull leg; cam1 is gone with its last player')
  t.notOk(r.closed || h.closed, 'both players stay connected')
})

t.test('redirect/publisher newname=p2: the publisher goes on as p2', async (t) => {
  const node = await startStatEdge(t, { live: '' })
  const pub = await pacedPublisher(t, node.rtmpPort, 'live', 'p1')
  const id = await clientIdFromLog(node.edge, pub.client.socket.localPort ?? 0)
  await statWhen(node, listsClients('p1', 1))
  const res = await node.get('/control/redirect/publisher?srv=edge&app=live&name=p1&newname=p2')
  t.equal(res.body.toString('latin1'), '1', 'body 1')
  const rtmp = await statWhen(node, (x) => listsClients('p2', 1)(x) && !streamsOf(x).some((s) => textOf(s, 'name') === 'p1'))
  t.same(clientsOf(streamNamed(rtmp, 'p2')).map((c) => [c.id, c.publishing]), [[id, true]], 'p2: the same connection, publishing')
  const player = (await playerR(t, node.rtmpPort, { name: 'p2' })).client
  const key = await player.next(isKeyframeMessage, STAT_WAIT_MS)
  const before = player.messages.slice(0, player.messages.indexOf(key))
  t.ok(before.some((m) => m.typeId === MSG_DATA_AMF0 && m.values?.includes('onMetaData')), 'a player of p2 gets the metadata ffmpeg sent once, before p1 was redirected')
  t.ok(before.some((m) => m.typeId === MSG_VIDEO && m.payload[1] === 0), 'and the AVC sequence header, before its first keyframe')
  t.notOk(pub.client.closed, 'the publisher stays connected')
})
