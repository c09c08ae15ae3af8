// Virtual-server selection by name, nginx's order (ngx_http_find_virtual_server, and
// pingos-behaviour.md §1.9): exact name, then the longest leading wildcard (*.example.com or
// .example.com), then the longest trailing wildcard (www.example.*), then regular expressions
// (~...) in configuration order; no match → the listener's default server.

export interface NamedServer {
  readonly serverNames: readonly string[]
}

function leadingWildcard(name: string): string | null {
  if (name.startsWith('*.')) return name.slice(1)
  if (name.startsWith('.')) return name
  return null
}

/** Pick the server for `host` among the servers of one listening address. */
export function selectServer<S extends NamedServer>(servers: readonly S[], defaultServer: S, host: string): S {
  for (const s of servers) if (s.serverNames.some((n) => !n.startsWith('~') && !n.includes('*') && n === host)) return s
  let best: S | null = null
  let bestLen = 0
  for (const s of servers) {
    for (const n of s.serverNames) {
      const suffix = leadingWildcard(n)
      if (suffix === null) continue
      const matches = host.endsWith(suffix) || (n.startsWith('.') && host === n.slice(1))
      if (matches && suffix.length > bestLen) { best = s; bestLen = suffix.length }
    }
  }
  if (best !== null) return best
  for (const s of servers) {
    for (const n of s.serverNames) {
      if (!n.endsWith('.*')) continue
      const prefix = n.slice(0, -1)
      if (host.startsWith(prefix) && prefix.length > bestLen) { best = s; bestLen = prefix.length }
    }
  }
  if (best !== null) return best
  for (const s of servers) {
    for (const n of s.serverNames) if (n.startsWith('~') && new RegExp(n.slice(1)).test(host)) return s
  }
  return defaultServer
}
