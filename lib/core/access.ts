// allow/deny rules (ngx_rtmp_access_module): parent levels first, the first matching rule
// decides, no matching rule allows. IPv4-mapped IPv6 addresses count as IPv4.
import { BlockList, isIPv6 } from 'node:net'

/** `ip` is under `address/bits`, whichever way each is spelled (checked per connection, not per message). */
function inIPv6Subnet(ip: string, address: string, bits: number): boolean {
  const list = new BlockList()
  list.addSubnet(address, bits, 'ipv6')
  return list.check(ip, 'ipv6')
}

/** The shape of a rule as the config tree holds it (structural, so core needs no conf import). */
export interface AccessRuleLike {
  readonly allow: boolean
  readonly action: 'publish' | 'play' | 'all'
  readonly match:
    | { readonly kind: 'all' }
    | { readonly kind: 'unix' }
    | { readonly kind: 'ipv4', readonly octets: readonly number[], readonly bits: number }
    | { readonly kind: 'ipv6', readonly address: string, readonly bits: number }
}

/** First matching rule decides; no rule matches → allowed (ngx_rtmp_access_module). */
export function accessAllowed(rules: readonly AccessRuleLike[], action: 'publish' | 'play', addr: string): boolean {
  const ip = addr.startsWith('::ffff:') ? addr.slice(7) : addr
  for (const r of rules) {
    if (r.action !== 'all' && r.action !== action) continue
    const m = r.match
    if (m.kind === 'all') return r.allow
    if (m.kind === 'ipv4') {
      const parts = ip.split('.').map(Number)
      if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) continue
      const value = ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0
      const base = ((m.octets[0] << 24) | (m.octets[1] << 16) | (m.octets[2] << 8) | m.octets[3]) >>> 0
      const mask = m.bits === 0 ? 0 : (0xffffffff << (32 - m.bits)) >>> 0
      if (((value & mask) >>> 0) === ((base & mask) >>> 0)) return r.allow
    } else if (m.kind === 'ipv6' && isIPv6(ip) && inIPv6Subnet(ip, m.address, m.bits)) {
      return r.allow
    }
  }
  return true
}

