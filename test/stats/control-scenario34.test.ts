// Scenario 34 (pingos-behaviour.md §13, §9.2; pingos-observed.md §15): `/control/drop/publisher`
// of a pulled stream drops the pull leg; the edge pulls again at once while its players stay.
// The origin is another edge with ffmpeg publishing into it: its log shows the pull's
// connection closing and the next one's connect and play, stamped as this process reads them.
import t from 'tap'
import { MSG_VIDEO } from '../../lib/rtmp/constants.js'
import { timedLog } from '../helpers/push-scenarios.js'
import { isUserControl, mediaCount, playerH, playerR } from '../helpers/pull-scenarios.js'
import { listsClients, startOrigin, startStatEdge, STAT_WAIT_MS, statWhen, streamNamed, clientsOf } from '../helpers/stats.js'
import { wallMs } from '../helpers/witness-reader.js'

/** "at once": the new play within this of the drop (the back-off after a failed attempt starts at 50 ms and grows to 3 s) */
const AT_ONCE_MS = 1000
/** User Control events (RTMP 7.1.7) */
const STREAM_BEGIN = 0
const STREAM_EOF = 1

t.test('34: drop/publisher of the pull leg: the origin sees a new connect + play at once; the players stay', async (t) => {
  const origin = await startOrigin(t)
  const originLines = timedLog(origin.edge)
  const node = await startStatEdge(t, { live: `pull rtmp://127.0.0.1:${origin.rtmpPort} app=live;` })
  const r = (await playerR(t, node.rtmpPort, { name: 'cam1' })).client
  await r.until(() => mediaCount(r) > 0, STAT_WAIT_MS, 'media at the RTMP player')
  const h = await playerH(t, node.httpPort, { target: '/flv/cam1?app=live' })
  await h.until(() => h.tags.some((tag) => tag.typeId === MSG_VIDEO), STAT_WAIT_MS, 'video at the HTTP-FLV player')
  await statWhen(node, listsClients('cam1', 3))
  const legId = Number(/\*(\d+) play: name='cam1'/.exec(origin.edge.log())?.[1])

  const missing = await node.get('/control/drop/publisher?app=live&name=cam1')
  t.equal(missing.status, 500, 'without srv: 500')

  const rFrom = r.messages.length
  const droppedAt = wallMs()
  const res = await node.get('/control/drop/publisher?srv=edge&app=live&name=cam1')
  t.equal(res.status, 200, '200')
  t.equal(res.body.toString('latin1'), '1', 'body 1: the pull leg')

  await origin.edge.waitForLog(new RegExp(`\\*${legId} close: `), STAT_WAIT_MS)
  t.pass('the origin sees the pull\'s connection closed')
  const replay = new RegExp(`\\*(?!${legId} )(\\d+) play: name='cam1'`)
  await origin.edge.waitForLog(replay, STAT_WAIT_MS)
  const newId = Number(replay.exec(origin.edge.log())?.[1])
  const hAtReplay = h.tags.length
  const connectLine = originLines.find((l) => l.line.includes(`*${newId} connect: app='live'`))
  const playLine = originLines.find((l) => replay.test(l.line))
  t.ok(connectLine !== undefined, 'a new connection connects to app live')
  t.ok(playLine !== undefined && playLine.at - droppedAt < AT_ONCE_MS,
    `and plays cam1 at once: ${Math.round((playLine?.at ?? Infinity) - droppedAt)} ms after the drop (< ${AT_ONCE_MS})`)

  const eof = await r.next((m) => isUserControl(m, STREAM_EOF), STAT_WAIT_MS, rFrom)
  const begin = await r.next((m) => isUserControl(m, STREAM_BEGIN), STAT_WAIT_MS, r.messages.indexOf(eof) + 1)
  t.pass('the RTMP player gets StreamEOF(1), then StreamBegin(1)')
  const afterBegin = r.messages.indexOf(begin)
  await r.until(() => r.messages.slice(afterBegin).some((m) => m.typeId === MSG_VIDEO), STAT_WAIT_MS, 'video after StreamBegin')
  await h.until(() => h.tags.slice(hAtReplay).some((tag) => tag.typeId === MSG_VIDEO), STAT_WAIT_MS, 'video at the HTTP-FLV player from the new pull')
  t.notOk(r.closed || h.closed, 'both players stay connected and receive media')
  t.same(r.messages.slice(rFrom).filter((m) => m.values?.[0] === 'onStatus').map((m) => m.values?.[3]), [],
    'the RTMP player gets no onStatus')

  const after = await statWhen(node, listsClients('cam1', 3))
  t.same(clientsOf(streamNamed(after, 'cam1')).filter((c) => c.publishing).map((c) => c.id), [0], 'the new pull leg is listed: id 0, <publishing/>')
})
