// allow/deny matching (lib/core/access.ts): the first matching rule decides; IPv6 rules match
// any spelling of an address under their prefix length, as nginx's CIDR rules do.
import t from 'tap'
import { accessAllowed, type AccessRuleLike } from '../../lib/core/access.js'

const deny = (address: string, bits: number): AccessRuleLike => ({ allow: false, action: 'all', match: { kind: 'ipv6', address, bits } })
const v4 = (allow: boolean, octets: number[], bits: number): AccessRuleLike => ({ allow, action: 'all', match: { kind: 'ipv4', octets, bits } })

t.test('an IPv6 prefix rule denies the addresses under it and no others', async (t) => {
  t.equal(accessAllowed([deny('fd00::', 8)], 'play', 'fd00::2'), false)
  t.equal(accessAllowed([deny('fd00::', 8)], 'play', 'fd12:3456::1'), false)
  t.equal(accessAllowed([deny('fd00::', 8)], 'play', 'fe80::1'), true)
})

t.test('an IPv6 rule written out in full matches the short spelling', async (t) => {
  t.equal(accessAllowed([deny('fd00:0:0:0:0:0:0:2', 128)], 'play', 'fd00::2'), false)
  t.equal(accessAllowed([deny('fd00:0:0:0:0:0:0:2', 128)], 'play', 'fd00::3'), true)
})

t.test('IPv4 peers are not matched by IPv6 rules, and IPv4-mapped peers count as IPv4', async (t) => {
  t.equal(accessAllowed([deny('::', 0)], 'play', '127.0.0.1'), true)
  t.equal(accessAllowed([v4(false, [127, 0, 0, 0], 8)], 'play', '::ffff:127.0.0.1'), false)
})
