// Host names of origins and notify servers → an address to connect to, without blocking the
// event loop: the system resolver (getaddrinfo on libuv's pool), or the name servers of the
// `resolver` directive when the config gives one (§11). IP literals are used as they are.
import { lookup } from 'node:dns/promises'
import { Resolver } from 'node:dns/promises'
import { isIP } from 'node:net'

export interface ResolverSettings {
  /** host:port of each name server; empty = the system resolver */
  readonly addresses: readonly string[]
  readonly timeoutMs: number
}

export class HostResolver {
  private readonly dns: Resolver | null

  constructor(settings: ResolverSettings) {
    if (settings.addresses.length === 0) {
      this.dns = null
      return
    }
    this.dns = new Resolver({ timeout: settings.timeoutMs, tries: 1 })
    this.dns.setServers([...settings.addresses])
  }

  /** One address for `host` (a random one when there are several, as PingOS picks). */
  async resolve(host: string): Promise<string> {
    if (isIP(host) !== 0) return host
    const all = this.dns === null
      ? (await lookup(host, { all: true, family: 4 })).map((a) => a.address)
      : await this.dns.resolve4(host)
    if (all.length === 0) throw Object.assign(new Error(`${host} has no address`), { code: 'ENODATA' })
    return all[Math.floor(Math.random() * all.length)]
  }
}
