// rtmp_stat's XML (§9.1, observed §9 and §15): PingOS's layout (streams grouped by serverid, no
// <application> level), CRLF line ends, elements in nginx-rtmp's order and line breaks.
import { audioFields, videoFields, type StatField, type StreamMeta } from './meta.js'
import type { StatClient, StatNode, StatStream } from './snapshot.js'

/** What nginx-rtmp's stat shows for the server and module versions (the `Server` header's nginx) */
export const NGINX_VERSION = '1.17.5'
export const NGINX_RTMP_VERSION = '1.1.4'

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** C's __DATE__ " " __TIME__: "Nov 23 2026 20:43:45", the day padded with a space */
export function builtText(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0')
  return `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${d.getFullYear()} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
}

/** The compiler line's counterpart: what runs edge */
export function compilerText(): string {
  return `Node.js ${process.versions.node} (V8 ${process.versions.v8})`
}

/**
 * A value as text inside an element: markup characters escaped, and control or non-ASCII bytes
 * become spaces (§9.1: nginx-rtmp escapes byte by byte).
 */
export function xmlText(s: string): string {
  let out = ''
  for (const ch of s) {
    const c = ch.codePointAt(0) as number
    if (c < 0x20 || c === 0x7f) out += ' '
    else if (c > 0x7f) out += ' '.repeat(Buffer.byteLength(ch))
    else if (ch === '&') out += '&amp;'
    else if (ch === '<') out += '&lt;'
    else if (ch === '>') out += '&gt;'
    else if (ch === '"') out += '&quot;'
    else if (ch === "'") out += '&apos;'
    else out += ch
  }
  return out
}

export interface StatXmlOptions {
  /** rtmp_stat all|clients: list each stream's clients */
  readonly clients: boolean
  /** rtmp_stat_stylesheet, or null */
  readonly stylesheet: string | null
}

export function statXml(node: StatNode, opts: StatXmlOptions): string {
  const l: string[] = ['<?xml version="1.0" encoding="utf-8" ?>']
  if (opts.stylesheet !== null) l.push(`<?xml-stylesheet type="text/xsl" href="${xmlText(opts.stylesheet)}" ?>`)
  l.push(
    '<rtmp>',
    `<nginx_version>${NGINX_VERSION}</nginx_version>`,
    `<nginx_rtmp_version>${NGINX_RTMP_VERSION}</nginx_rtmp_version>`,
    `<compiler>${xmlText(compilerText())}</compiler>`,
    `<built>${builtText(node.builtAt)}</built>`,
    `<pid>${node.pid}</pid>`,
    `<uptime>${node.uptime}</uptime>`,
    `<naccepted>${node.naccepted}</naccepted>`,
    `<bw_in>${node.bwIn}</bw_in>`,
    `<bytes_in>${node.bytesIn}</bytes_in>`,
    `<bw_out>${node.bwOut}</bw_out>`,
    `<bytes_out>${node.bytesOut}</bytes_out>`,
  )
  for (const server of node.servers) {
    l.push('<server>', `<serverid>${xmlText(server.serverId)}</serverid>`, '<live>')
    let total = 0
    for (const s of server.streams) {
      stream(l, s, opts.clients)
      total += s.clients.length
    }
    l.push(`<nclients>${total}</nclients>`, '</live>', '</server>')
  }
  l.push('</rtmp>', '')
  return l.join('\r\n')
}

function stream(l: string[], s: StatStream, withClients: boolean): void {
  l.push(
    '<stream>',
    `<name>${xmlText(s.name)}</name>`,
    `<time>${s.time}</time><bw_in>${s.bwIn}</bw_in>`,
    `<bytes_in>${s.bytesIn}</bytes_in>`,
    `<bw_out>${s.bwOut}</bw_out>`,
    `<bytes_out>${s.bytesOut}</bytes_out>`,
    `<bw_audio>${s.bwAudio}</bw_audio>`,
    `<bw_video>${s.bwVideo}</bw_video>`,
  )
  if (withClients) for (const c of s.clients) l.push(client(c))
  if (s.meta !== null) l.push(meta(s.meta))
  l.push(`<nclients>${s.clients.length}</nclients>`)
  if (s.publishing) l.push('<publishing/>')
  if (s.active) l.push('<active/>')
  l.push('</stream>')
}

function client(c: StatClient): string {
  let x = `<client><id>${c.id}</id><address>${xmlText(c.address)}</address><remote_address>${xmlText(c.remoteAddress)}</remote_address><time>${c.time}</time>`
  if (c.flashver !== '') x += `<flashver>${xmlText(c.flashver)}</flashver>`
  if (c.pageurl !== '') x += `<pageurl>${xmlText(c.pageurl)}</pageurl>`
  if (c.swfurl !== '') x += `<swfurl>${xmlText(c.swfurl)}</swfurl>`
  x += `<dropped>${c.dropped}</dropped><avsync>${c.avsync}</avsync><timestamp>${c.timestamp}</timestamp>`
  if (c.publishing) x += '<publishing/>'
  if (c.active) x += '<active/>'
  return `${x}</client>`
}

function meta(m: StreamMeta): string {
  const elements = (fields: readonly StatField[]): string => fields.map(([k, v]) => `<${k}>${typeof v === 'string' ? xmlText(v) : v}</${k}>`).join('')
  return `<meta><video>${elements(videoFields(m.video))}</video><audio>${elements(audioFields(m.audio))}</audio></meta>`
}
