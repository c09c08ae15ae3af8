// Notification requests as PingOS builds them (ngx_rtmp_notify_common_url, §4.2, §6):
//   <url>{?|&}call=<type>&act=<stage>&domain=<d>&app=<a>&name=<n>&clientid=<id>[<record>][&groupid=<g>][&<args>]
// Values go in raw (no URL encoding); every variable is evaluated once per session (§6.3).
import type { NotifyConf } from '../conf/tree.js'
import type { Template } from '../conf/variables.js'
import type { LogContext } from '../core/log.js'
import { queryArg } from '../core/query.js'
import type { MetadataValues, PlayInfo, Subject } from '../stages.js'

export type NotifyCall = 'play' | 'publish' | 'pull' | 'push' | 'stream' | 'meta' | 'record'
export type NotifyAct = 'start' | 'update' | 'done'

/** The version PingOS reports ($nginx_version; the User-Agent of its requests). */
const NGINX_VERSION = '1.17.5'

// ngx_rtmp_codec_module's name tables, by FLV codec id; FourCCs of enhanced RTMP by name.
const VIDEO_CODECS: Readonly<Record<string, string>> = {
  1: 'Jpeg', 2: 'Sorenson-H263', 3: 'ScreenVideo', 4: 'On2-VP6', 5: 'On2-VP6-Alpha', 6: 'ScreenVideo2', 7: 'H264', 12: 'H265',
  avc1: 'H264', hvc1: 'H265', hev1: 'H265', av01: 'AV1', vp09: 'VP9',
}
const AUDIO_CODECS: Readonly<Record<string, string>> = {
  0: 'Uncompressed', 1: 'ADPCM', 2: 'MP3', 3: 'LinearLE', 4: 'Nellymoser16', 5: 'Nellymoser8', 6: 'Nellymoser',
  7: 'G711A', 8: 'G711U', 10: 'AAC', 11: 'Speex', 14: 'MP3-8K', 15: 'DeviceSpecific', mp4a: 'AAC', '.mp3': 'MP3',
}

/** The `$metadata_<key>` keys (§6.1), in the order `$metadata` lists its part of them. */
const METADATA_KEYS = ['width', 'height', 'duration', 'framerate', 'fps', 'videodatarate', 'videocodec', 'audiocodec', 'audiodatarate'] as const

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0
}

/** One `$metadata_<key>` from a publisher's onMetaData values. */
export function metadataVariable(meta: MetadataValues | null, key: string): string {
  if (meta === null) return ''
  const o = meta
  switch (key) {
    case 'framerate': return num(o.framerate).toFixed(2)
    case 'fps': return String(Math.trunc(num(o.framerate)))
    case 'videocodec': return VIDEO_CODECS[String(o.videocodecid)] ?? ''
    case 'audiocodec': return AUDIO_CODECS[String(o.audiocodecid)] ?? ''
    case 'videocodecid':
    case 'audiocodecid':
      return typeof o[key] === 'string' ? o[key] as string : String(Math.trunc(num(o[key])))
    case 'width': case 'height': case 'duration': case 'videodatarate': case 'audiodatarate': case 'profile': case 'level':
      return String(Math.trunc(num(o[key])))
    default: return ''
  }
}

/** `$metadata` (§6.1): `width=W&height=H&duration=D&framerate=F.FF&fps=N&videodatarate=V&videocodec=…&audiocodec=…&audiodatarate=A`. */
export function metadataString(meta: MetadataValues | null): string {
  if (meta === null) return ''
  return METADATA_KEYS.map((k) => `${k}=${metadataVariable(meta, k)}`).join('&')
}

export interface SubjectOptions {
  /** 0 for relay legs */
  readonly clientId: number
  /** groupid= of the on_pull / on_push entry ($groupid of a leg) */
  readonly groupId?: string | null
  /** a relay leg: no socket of its own when first asked, so $remote_addr and friends are empty (§3.3) */
  readonly leg?: boolean
  /** the publisher's onMetaData values ($metadata), when there is a publisher */
  readonly metadata?: () => MetadataValues | null
  readonly logCtx: LogContext
}

/** `evaluate`, each variable evaluated at most once (§6.3: PingOS caches every getter's value). */
export function evaluatedOnce(evaluate: (name: string) => string): (name: string) => string {
  const cache = new Map<string, string>()
  return (name) => {
    let v = cache.get(name)
    if (v === undefined) {
      v = evaluate(name)
      cache.set(name, v)
    }
    return v
  }
}

/** The notify variables of one session or relay leg, each evaluated once (§6.3). */
export class NotifySubject implements Subject {
  readonly variable = evaluatedOnce((name) => this.evaluate(name))
  readonly clientId: number
  readonly logCtx: LogContext

  constructor(private readonly info: PlayInfo, private readonly opts: SubjectOptions) {
    this.clientId = opts.clientId
    this.logCtx = opts.logCtx
  }

  get domain(): string { return this.info.domain }
  get app(): string { return this.info.app }
  get name(): string { return this.info.name }

  private evaluate(name: string): string {
    const info = this.info
    const leg = this.opts.leg === true
    switch (name) {
      case 'domain': return info.domain
      case 'app': return info.app
      case 'name': return info.name
      case 'stream': return `${info.serverId}/${info.app}/${info.name}`
      case 'pargs': return info.pargs
      case 'args': return info.args
      case 'flashver': return info.flashVer
      case 'swf_url': return info.swfUrl
      case 'tc_url': return info.tcUrl
      case 'page_url': return info.pageUrl
      case 'acodecs': return String(info.audioCodecs)
      case 'vcodecs': return String(info.videoCodecs)
      case 'scheme': return info.scheme
      case 'serverid': return info.serverId
      case 'groupid': return this.opts.groupId ?? ''
      case 'remote_addr': return leg ? '' : info.remoteAddr
      case 'remote_port': return leg ? '' : info.remotePort
      case 'server_addr': return leg ? '' : info.serverAddr
      case 'server_port': return leg ? '' : info.serverPort
      case 'metadata': return metadataString(this.opts.metadata?.() ?? null)
      default:
        if (name.startsWith('parg_')) return queryArg(info.pargs, name.slice(5)) ?? ''
        if (name.startsWith('metadata_')) return metadataVariable(this.opts.metadata?.() ?? null, name.slice(9))
        return processVariable(name)
    }
  }
}

/** Variables of the process, the same for every session; unknown or unavailable ones are empty. */
export function processVariable(name: string): string {
  const now = new Date()
  switch (name) {
    case 'nginx_version': return NGINX_VERSION
    case 'pid': return String(process.pid)
    case 'ngx_worker': return '0'
    case 'notify_status': return '0'
    case 'msec': return (now.getTime() / 1000).toFixed(3)
    case 'time_iso8601': return now.toISOString().replace(/\.\d{3}Z$/, '+00:00')
    case 'time_local': return now.toUTCString()
    default: return ''
  }
}

export function expandTemplate(template: Template, variable: (name: string) => string): string {
  let out = ''
  for (const part of template) out += typeof part === 'string' ? part : variable(part.variable)
  return out
}

/** The URL's path and query; a URL without a path gets "/" (compat fix, §4.2). */
function urlBase(conf: NotifyConf): string {
  const base = conf.parsed.path === '' ? '/' : conf.parsed.path
  return conf.parsed.query === null ? base : `${base}?${conf.parsed.query}`
}

/** Path and query of a notification request about `who`. */
export function notifyTarget(conf: NotifyConf, call: NotifyCall, act: NotifyAct, who: Subject, record = ''): string {
  const base = urlBase(conf)
  let t = `${base}${base.includes('?') ? '&' : '?'}call=${call}&act=${act}&domain=${who.domain}&app=${who.app}&name=${who.name}&clientid=${who.clientId}${record}`
  if (conf.groupId !== null) t += `&groupid=${conf.groupId}`
  const args = conf.args === null ? '' : expandTemplate(conf.args.template, (v) => who.variable(v))
  if (args !== '') t += `&${args}`
  return t
}

/** The record fields of on_record update/done (§4.2): times in ms of a monotonic clock. */
export function recordFields(beginMs: number, endMs: number, indexPath: string, filePath: string): string {
  return `&begintime=${beginMs}&endtime=${endMs}&index=${indexPath}&file=${filePath}`
}

/** on_record done when no file was open at the end (each file is named once, by update or done) */
export const RECORD_FIELDS_NO_FILE = '&begintime=&endtime=&index=&file='

/** on_proc (§4.7): `?call=init_process&worker_id=<n>`, appended with "?" whatever the URL has; args ignored. */
export function procTarget(conf: NotifyConf, workerId: number): string {
  return `${urlBase(conf)}?call=init_process&worker_id=${workerId}`
}

/** on_master (§4.7): `?call=init_master&act=<stage>[&<args>]`, args expanded (compat fix: PingOS sends `$<index>`). */
export function masterTarget(conf: NotifyConf, act: NotifyAct, variable: (name: string) => string): string {
  const args = conf.args === null ? '' : expandTemplate(conf.args.template, variable)
  return `${urlBase(conf)}?call=init_master&act=${act}${args === '' ? '' : `&${args}`}`
}
