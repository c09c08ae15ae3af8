// html/stat.xsl, edge's own stylesheet for rtmp_stat (issue 12: "xsltproc with the stat.xsl
// renders it without errors"): xsltproc applies it to the XML of a live node, as a browser does
// for `rtmp_stat_stylesheet /stat.xsl;`, and the page shows each stream and its clients. On the
// shipped conf, the page a browser gets: /stat names /stat.xsl, which the node serves as the
// stylesheet file, and the two render.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { repoRoot, runProcess } from '../helpers/edge.js'
import { clientIdFromLog } from '../helpers/notify.js'
import { publish } from '../helpers/node.js'
import { header } from '../helpers/raw-http.js'
import { startShippedEdge } from '../helpers/shipped.js'
import { mediaCount, playerR } from '../helpers/pull-scenarios.js'
import { httpGet, listsClients, OPERATIONS_LOCATIONS, startStatEdge, STAT_WAIT_MS, statWhen, type StatEdge } from '../helpers/stats.js'

const XSLTPROC = '/usr/bin/xsltproc'
const STYLESHEET = join(repoRoot, 'html', 'stat.xsl')
const skip = existsSync(XSLTPROC) ? false : `not installed: ${XSLTPROC}`

/** xsltproc html/stat.xsl over the node's /stat (the stylesheet line in it): exit code, HTML, stderr. */
async function render(t: Test, node: StatEdge): Promise<{ code: number | null, html: string, stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'edge-xsl-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const res = await node.get('/stat')
  const xml = join(dir, 'stat.xml')
  writeFileSync(xml, res.body)
  const r = await runProcess(XSLTPROC, [STYLESHEET, xml])
  return { code: r.code, html: r.stdout, stderr: r.stderr }
}

const LOCATIONS = { ...OPERATIONS_LOCATIONS, '/stat': 'rtmp_stat all; rtmp_stat_stylesheet /stat.xsl;' }

t.test('xsltproc html/stat.xsl: a stream, its codecs and a client row', { skip }, async (t) => {
  const node = await startStatEdge(t, { live: '' }, LOCATIONS)
  const p = publish(`rtmp://127.0.0.1:${node.rtmpPort}/live/cam1`)
  t.teardown(() => p.stop())
  await node.edge.waitForLog("publish: name='cam1'", STAT_WAIT_MS)
  const r = (await playerR(t, node.rtmpPort, { name: 'cam1' })).client
  await r.until(() => mediaCount(r) > 0, STAT_WAIT_MS, 'media at the player')
  const id = await clientIdFromLog(node.edge, r.socket.localPort ?? 0)
  await statWhen(node, listsClients('cam1', 2))

  const { code, html, stderr } = await render(t, node)
  t.equal(code, 0, 'xsltproc exits 0')
  t.equal(stderr, '', 'no warning or error on stderr')
  t.match(html, /^<!DOCTYPE html/, 'an HTML page')
  t.match(html, /<h2>Server edge: 2 client\(s\)<\/h2>/, 'a heading per server, with its clients')
  t.match(html, /<td><strong>cam1<\/strong><\/td>/, 'the stream\'s row')
  t.match(html, /320x240 @ 25 fps/, 'its resolution and frame rate')
  t.match(html, /H264 Baseline 1\.3<br>AAC LC, 1 ch, 44100 Hz/, 'its codecs')
  const rows = html.match(/<tr class="client">[^]*?<\/tr>/g) ?? []
  t.equal(rows.length, 2, 'two client rows: the publisher and the player')
  const player = rows.find((row) => row.includes(`<td class="n">${id}</td>`))
  t.ok(player !== undefined, `a row for client ${id}`)
  t.match(player ?? '', new RegExp(`<td>${node.listenText}</td>\\s*<td>127\\.0\\.0\\.1</td>\\s*<td>LNX 9,0,124,2</td>`), 'its address, remote address and flashver')
  t.match(player ?? '', /flag off">playing</, 'playing')
  t.ok(rows.some((row) => /flag on">publishing</.test(row)), 'the publisher\'s row says publishing')
})

t.test('xsltproc html/stat.xsl: a node with no stream', { skip }, async (t) => {
  const node = await startStatEdge(t, { live: '' }, LOCATIONS)
  const { code, html, stderr } = await render(t, node)
  t.equal(code, 0, 'xsltproc exits 0')
  t.equal(stderr, '', 'no warning or error on stderr')
  t.match(html, /<h2>Server edge: 0 client\(s\)<\/h2>\s*<p class="none">No streams\.<\/p>/, 'the server, and no streams')
})

t.test('the shipped conf: /stat names /stat.xsl, served as the stylesheet; the two render', { skip }, async (t) => {
  const { httpPort } = await startShippedEdge(t, ['html'])
  const stat = await httpGet(httpPort, '/stat')
  t.equal(header(stat, 'Content-Type'), 'text/xml', '/stat: text/xml')
  const href = /<\?xml-stylesheet type="text\/xsl" href="([^"]+)" \?>/.exec(stat.body.toString('utf8'))?.[1]
  t.equal(href, '/stat.xsl', 'it names /stat.xsl')
  const xsl = await httpGet(httpPort, href ?? '/stat.xsl')
  t.equal(xsl.status, 200, '/stat.xsl: 200')
  t.equal(header(xsl, 'Content-Type'), 'text/xsl', '/stat.xsl: text/xsl (conf/mime.types)')
  t.ok(xsl.body.equals(readFileSync(STYLESHEET)), '/stat.xsl: html/stat.xsl, not the stat itself')

  const dir = mkdtempSync(join(tmpdir(), 'edge-xsl-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'stat.xml'), stat.body)
  writeFileSync(join(dir, 'stat.xsl'), xsl.body)
  const r = await runProcess(XSLTPROC, [join(dir, 'stat.xsl'), join(dir, 'stat.xml')])
  t.equal(r.code, 0, 'xsltproc renders what was served')
  t.match(r.stdout, /<h2>Server edge: 0 client\(s\)<\/h2>/, 'the page of the idle node')
})
