// Notification requests as PingOS builds them (ngx_rtmp_notify_common_url, §4.2, §6):
//   <url>{?|&}call=<type>&act=<stage>&domain=<d>&app=<a>&name=<n>&clientid=<id>[&groupid=<g>][&<args>]
// Values go in raw (no URL encoding); args= variables are expanded once per session (§6.3).
import type { NotifyConf } from '../conf/tree.js'
import type { Template } from '../conf/variables.js'
import type { PlayInfo } from '../stages.js'

export type NotifyCall = 'play' | 'publish' | 'pull' | 'push' | 'stream' | 'meta' | 'record'
export type NotifyAct = 'start' | 'update' | 'done'

/** The value of `$parg_<key>` in a query: key case-insensitive, at the start or after "&". */
export function queryValue(query: string, key: string): string {
  const lower = key.toLowerCase()
  for (const part of query.split('&')) {
    const eq = part.indexOf('=')
    if (eq !== -1 && part.slice(0, eq).toLowerCase() === lower) return part.slice(eq + 1)
  }
  return ''
}

/** Values of the variables for one session; unknown or unavailable ones are empty. */
export type VariableSource = (name: string) => string

/** Variables of a pull or push leg: the trigger's fields, no socket of its own (§3.3). */
export function legVariables(info: PlayInfo, groupId: string | null): VariableSource {
  const started = new Date()
  return (name) => {
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
      case 'groupid': return groupId ?? ''
      case 'nginx_version': return '1.17.5'
      case 'pid': return String(process.pid)
      case 'ngx_worker': return '0'
      case 'notify_status': return '0'
      case 'msec': return (started.getTime() / 1000).toFixed(3)
      case 'time_iso8601': return started.toISOString().replace(/\.\d{3}Z$/, '+00:00')
      case 'time_local': return started.toUTCString()
      default:
        if (name.startsWith('parg_')) return queryValue(info.pargs, name.slice(5))
        return '' // $remote_addr, $remote_port ... of a leg are empty; codec variables need a publisher
    }
  }
}

export function expandTemplate(template: Template, vars: VariableSource): string {
  let out = ''
  for (const part of template) out += typeof part === 'string' ? part : vars(part.variable)
  return out
}

/** Path and query of a notification request. A URL without a path gets "/" (compat fix). */
export function notifyTarget(
  conf: NotifyConf,
  call: NotifyCall,
  act: NotifyAct,
  who: { readonly domain: string, readonly app: string, readonly name: string, readonly clientId: number },
  expandedArgs: string,
): string {
  let base = conf.parsed.path === '' ? '/' : conf.parsed.path
  if (conf.parsed.query !== null) base += `?${conf.parsed.query}`
  let t = `${base}${base.includes('?') ? '&' : '?'}call=${call}&act=${act}&domain=${who.domain}&app=${who.app}&name=${who.name}&clientid=${who.clientId}`
  if (conf.groupId !== null) t += `&groupid=${conf.groupId}`
  if (expandedArgs !== '') t += `&${expandedArgs}`
  return t
}
