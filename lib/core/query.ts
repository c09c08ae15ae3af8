// Query strings as PingOS reads them: raw (never URL-decoded), `&`-separated, names compared
// case-insensitively (ngx_rtmp_arg / ngx_http_arg).

/** The raw value of `key` in `query`, or null when no `key=` is there. */
export function queryArg(query: string, key: string): string | null {
  const lower = key.toLowerCase()
  for (const part of query.split('&')) {
    const eq = part.indexOf('=')
    if (eq !== -1 && part.slice(0, eq).toLowerCase() === lower) return part.slice(eq + 1)
  }
  return null
}
