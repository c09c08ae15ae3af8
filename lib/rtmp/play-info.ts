// What an RTMP session's connect names (the app and domain, §1.9), and what the pipelines know
// of its play or publish (PlayInfo): the connect command's fields and the socket's addresses.
import type { Socket } from 'node:net'
import type { RtmpListener } from '../conf/tree.js'
import type { PlayInfo } from '../stages.js'
import type { ConnectInfo } from './commands.js'

/** The app and domain a connect names, normalised as PingOS does (§1.9). */
export interface ConnectTarget {
  readonly app: string
  /** query after "?" in the connect app ($args) */
  readonly args: string
  readonly domain: string
  readonly tcUrl: string
}

/** §1.9: strip /_definst_ or a trailing /, split at "?", domain from tcUrl, IPv4 vhost reset. */
export function connectTarget(info: ConnectInfo): ConnectTarget {
  let app = info.app
  const q = app.indexOf('?')
  const args = q === -1 ? '' : app.slice(q + 1)
  if (q !== -1) app = app.slice(0, q)
  if (app.endsWith('/_definst_')) app = app.slice(0, -'/_definst_'.length)
  else if (app.endsWith('/')) app = app.slice(0, -1)
  const m = /^[A-Za-z]+:\/\/([^/:?]*)(?::\d+)?/.exec(info.tcUrl)
  let domain = m?.[1] ?? ''
  let tcUrl = info.tcUrl
  if (/^\d+\.\d+\.\d+\.\d+$/.test(domain) && app.includes('/')) {
    const slash = app.indexOf('/')
    domain = app.slice(0, slash)
    app = app.slice(slash + 1)
    tcUrl = `rtmp://${domain}/${app}`
  }
  return { app, args, domain, tcUrl }
}

export function rtmpPlayInfo(id: number, c: ConnectInfo, t: ConnectTarget, listener: RtmpListener, socket: Socket, name: string, pargs: string): PlayInfo {
  return {
    clientId: id,
    domain: t.domain,
    app: t.app,
    name,
    pargs,
    args: t.args,
    flashVer: c.flashVer,
    swfUrl: c.swfUrl,
    tcUrl: t.tcUrl,
    pageUrl: c.pageUrl,
    audioCodecs: c.audioCodecs,
    videoCodecs: c.videoCodecs,
    scheme: 'rtmp',
    serverId: listener.serverId,
    remoteAddr: socket.remoteAddress ?? '',
    remotePort: String(socket.remotePort ?? ''),
    serverAddr: socket.localAddress ?? '',
    serverPort: String(socket.localPort ?? ''),
    listen: listener.address.text,
  }
}
