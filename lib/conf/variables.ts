// Variables of notify `args=` (pingos-behaviour.md §6): `$` followed by the longest run of
// [A-Za-z0-9_], no braces. A template is compiled once at load into literal and variable
// parts; the notify layer evaluates it per session.

/** Every variable PingOS knows in rtmp context (ngx_rtmp_variables.c, ngx_rtmp_codec_module.c). */
export const RTMP_VARIABLES: ReadonlySet<string> = new Set([
  'domain', 'app', 'name', 'stream', 'pargs', 'args', 'flashver', 'swf_url', 'tc_url', 'page_url',
  'acodecs', 'vcodecs', 'scheme', 'serverid', 'groupid', 'notify_status', 'finalize_reason', 'stage',
  'init', 'handshake_done', 'connect', 'create_stream', 'ptime', 'first_data', 'first_metadata',
  'first_audio', 'first_video', 'close_stream',
  'relay_domain', 'relay_app', 'relay_name', 'relay_args', 'relay_pargs', 'relay_referer',
  'relay_user_agent', 'relay_swf_url', 'relay_acodecs', 'relay_vcodecs',
  'remote_addr', 'remote_port', 'server_addr', 'server_port', 'nginx_version', 'pid', 'ngx_worker',
  'msec', 'time_iso8601', 'time_local', 'metadata',
])

/** Prefix families: any suffix is a variable (`$parg_token`, `$metadata_width`). */
export const RTMP_VARIABLE_PREFIXES: readonly string[] = ['parg_', 'metadata_']

export type TemplatePart = string | { readonly variable: string }

/** A compiled `args=` value: literal text and variable references, in order. */
export type Template = readonly TemplatePart[]

export type TemplateError = { readonly reason: string }

export function isRtmpVariable(name: string): boolean {
  return RTMP_VARIABLES.has(name) || RTMP_VARIABLE_PREFIXES.some((p) => name.startsWith(p) && name.length > p.length)
}

/** Compile `a=$app&b=$parg_x`; an unknown name or a bare `$` is an error (nginx's message). */
export function compileTemplate(text: string): Template | TemplateError {
  const parts: TemplatePart[] = []
  const re = /\$([A-Za-z0-9_]*)/g
  let last = 0
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const name = m[1]
    if (name === '') return { reason: 'invalid variable name "$"' }
    if (!isRtmpVariable(name)) return { reason: `unknown "${name}" variable` }
    if (m.index > last) parts.push(text.slice(last, m.index))
    parts.push({ variable: name })
    last = m.index + m[0].length
  }
  if (last < text.length) parts.push(text.slice(last))
  return parts
}
