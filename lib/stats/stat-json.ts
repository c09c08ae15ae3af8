// The same data as JSON: rtmp_stat's (`?format=json` or `rtmp_stat_format json`, the name
// nginx-http-flv-module gives it; what the player page reads) and sys_stat's (§9.3).
import { audioFields, videoFields, type StreamMeta } from './meta.js'
import type { StatClient, StatNode, StatStream } from './snapshot.js'
import { builtText, compilerText, NGINX_RTMP_VERSION, NGINX_VERSION } from './stat-xml.js'

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

function metaJson(m: StreamMeta | null): Json {
  if (m === null) return null
  const video = videoFields(m.video)
  const audio = audioFields(m.audio)
  // a track nothing is known of is null (the XML has an empty element)
  return {
    video: m.video.codec === '' && m.video.width === 0 ? null : Object.fromEntries(video),
    audio: audio.length === 0 ? null : Object.fromEntries(audio),
  }
}

function clientJson(c: StatClient): Record<string, Json> {
  const x: Record<string, Json> = { id: c.id, address: c.address, remote_address: c.remoteAddress, time: c.time }
  if (c.flashver !== '') x.flashver = c.flashver
  if (c.pageurl !== '') x.pageurl = c.pageurl
  if (c.swfurl !== '') x.swfurl = c.swfurl
  Object.assign(x, { dropped: c.dropped, avsync: c.avsync, timestamp: c.timestamp, publishing: c.publishing, active: c.active, protocol: c.protocol })
  return x
}

function streamJson(s: StatStream, withClients: boolean): Record<string, Json> {
  return {
    app: s.app,
    // the whole name (the XML shows its last component, §9.1): what the player page plays
    name: s.fullName,
    time: s.time,
    bw_in: s.bwIn,
    bytes_in: s.bytesIn,
    bw_out: s.bwOut,
    bytes_out: s.bytesOut,
    bw_audio: s.bwAudio,
    bw_video: s.bwVideo,
    clients: withClients ? s.clients.map(clientJson) : [],
    meta: metaJson(s.meta),
    nclients: s.clients.length,
    publishing: s.publishing,
    active: s.active,
  }
}

/** rtmp_stat as JSON: the XML's elements as keys, `servers` and `streams` as arrays. */
export function statJson(node: StatNode, withClients: boolean): string {
  return JSON.stringify({
    rtmp: {
      nginx_version: NGINX_VERSION,
      nginx_rtmp_version: NGINX_RTMP_VERSION,
      compiler: compilerText(),
      built: builtText(node.builtAt),
      pid: node.pid,
      uptime: node.uptime,
      naccepted: node.naccepted,
      bw_in: node.bwIn,
      bytes_in: node.bytesIn,
      bw_out: node.bwOut,
      bytes_out: node.bytesOut,
      servers: node.servers.map((srv) => ({
        serverid: srv.serverId,
        live: {
          streams: srv.streams.map((s) => streamJson(s, withClients)),
          nclients: srv.streams.reduce((n, s) => n + s.clients.length, 0),
        },
      })),
    },
  })
}

/** Players of a stream by protocol: publishers and relay legs are not counted (§9.3). */
function counts(clients: readonly StatClient[]): Record<string, number> {
  const players = clients.filter((c) => !c.publishing && !c.relay)
  const rtmp = players.filter((c) => c.protocol === 'rtmp').length
  return { total_clients: players.length, rtmp_clients: rtmp, flv_clients: players.length - rtmp, hls_clients: 0, ts_clients: 0 }
}

/** sys_stat (§9.3): one space, then the object pretty-printed. */
export function sysStatJson(node: StatNode): string {
  const servers = node.servers.map((srv) => {
    const streams = srv.streams.map((s) => ({
      name: s.key,
      time: s.time,
      in: { bw: s.bwIn, bytes: s.bytesIn },
      video_in: { bw: s.bwVideo },
      audio_in: { bw: s.bwAudio },
      out: { bw: s.bwOut, bytes: s.bytesOut },
      client_array: s.clients.map((c) => ({ ...clientJson(c), relay: c.relay, interprocess: false })),
      meta: metaJson(s.meta),
      ...counts(s.clients),
      active: s.active,
    }))
    const all = srv.streams.flatMap((s) => s.clients)
    return { serverid: srv.serverId, stream_array: streams, ...counts(all) }
  })
  const body = {
    ngx_worker: 0,
    ngx_process_slot: 0,
    ngx_pid: node.pid,
    live_stream: {
      server_version: NGINX_VERSION,
      compiler: compilerText(),
      built: builtText(node.builtAt),
      pid: node.pid,
      timestamp: Math.floor(Date.now() / 1000),
      naccepted: node.naccepted,
      in: { bw: node.bwIn, bytes: node.bytesIn },
      out: { bw: node.bwOut, bytes: node.bytesOut },
      server_array: servers,
    },
  }
  return ` ${JSON.stringify(body, null, 2)}`
}
