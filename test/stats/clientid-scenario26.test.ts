// Scenario 26's ids (pingos-behaviour.md §13; the part issue 10 left to issue 12): the
// `clientid=<N>` of a player's on_play request is the `<id>` /rtmp_stat shows for it, and
// `/control/drop/client?srv=edge&clientid=<N>` answers 1 and disconnects that player alone. For
// an RTMP and an HTTP-FLV player of a stream ffmpeg publishes into the node.
import t from 'tap'
import { MSG_VIDEO } from '../../lib/rtmp/constants.js'
import { publish } from '../helpers/node.js'
import { clientIdOf, notifyServer, where } from '../helpers/notify.js'
import { reply } from '../helpers/origins.js'
import { mediaCount, PLAYER_R_FLASHVER, playerH, playerR, requestWhere } from '../helpers/pull-scenarios.js'
import { clientsOf, listsClients, startStatEdge, STAT_WAIT_MS, statWhen, streamNamed } from '../helpers/stats.js'

/** bound on a notify request and on a dropped player's close */
const WAIT_MS = 5000

t.test('26: on_play clientid=<N> is the <id> of /rtmp_stat; drop/client clientid=<N> disconnects that player', async (t) => {
  const notify = await notifyServer(t, reply(200))
  const node = await startStatEdge(t, {
    live: `on_play http://127.0.0.1:${notify.port}/p stage=start,update,done update=2s args=ip=$remote_addr&$pargs;`,
  })
  const p = publish(`rtmp://127.0.0.1:${node.rtmpPort}/live/cam1`)
  t.teardown(() => p.stop())
  await node.edge.waitForLog("publish: name='cam1'", STAT_WAIT_MS)

  const r = (await playerR(t, node.rtmpPort, { name: 'cam1?tok=abc' })).client
  const rStart = await requestWhere(notify, where('play', 'start'), 0, WAIT_MS)
  const h = await playerH(t, node.httpPort, { target: '/flv/cam1?app=live&tok=abc' })
  const hStart = await requestWhere(notify, where('play', 'start'), 1, WAIT_MS)
  await r.until(() => mediaCount(r) > 0, STAT_WAIT_MS, 'media at the RTMP player')
  await h.until(() => h.tags.some((tag) => tag.typeId === MSG_VIDEO), STAT_WAIT_MS, 'video at the HTTP-FLV player')
  const rId = Number(clientIdOf(rStart))
  const hId = Number(clientIdOf(hStart))
  t.ok(rId > 0 && hId > 0 && rId !== hId, `on_play: clientid=${rId} (RTMP) and clientid=${hId} (HTTP-FLV)`)

  const rtmp = await statWhen(node, listsClients('cam1', 3))
  const clients = clientsOf(streamNamed(rtmp, 'cam1'))
  t.same(clients.find((c) => c.id === rId), { id: rId, address: node.listenText, remote: '127.0.0.1', flashver: PLAYER_R_FLASHVER, publishing: false, active: true },
    `<id>${rId}</id>: the RTMP player (its flashver)`)
  t.same(clients.find((c) => c.id === hId), { id: hId, address: node.listenText, remote: '127.0.0.1', flashver: null, publishing: false, active: true },
    `<id>${hId}</id>: the HTTP-FLV player (no flashver)`)

  const dropR = await node.get(`/control/drop/client?srv=edge&clientid=${rId}`)
  t.equal(dropR.body.toString('latin1'), '1', `drop/client clientid=${rId}: 1`)
  await r.until(() => r.closed, WAIT_MS, 'the RTMP player\'s close')
  const done = await requestWhere(notify, where('play', 'done'), 0, WAIT_MS)
  t.equal(clientIdOf(done), String(rId), 'its on_play done names the same clientid')
  t.notOk(h.closed, 'the HTTP-FLV player stays')

  const dropH = await node.get(`/control/drop/client?srv=edge&clientid=${hId}`)
  t.equal(dropH.body.toString('latin1'), '1', `drop/client clientid=${hId}: 1`)
  await h.waitClosed(WAIT_MS)
  t.pass('the HTTP-FLV player is disconnected')
  t.equal((await node.get(`/control/drop/client?srv=edge&clientid=${rId}`)).body.toString('latin1'), '0', 'a clientid no longer there: 0')
  t.equal(p.child.exitCode, null, 'the publisher stays')
})
