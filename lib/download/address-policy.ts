/**
 * Which network addresses a package URL may reach (the SSRF guard's address half).
 *
 * Refused in every stage: link-local (cloud metadata lives at 169.254.169.254).
 * Refused outside the local stage: loopback, private, shared (CGNAT), benchmarking, multicast,
 * reserved and unspecified ranges, and the deprecated IPv6 site-local fec0::/10 (still routed
 * inside some networks). IPv6 forms that carry an IPv4 address — mapped (::ffff:a.b.c.d),
 * IPv4-translated (::ffff:0:a.b.c.d, SIIT), NAT64 (64:ff9b::/96), 6to4 (2002::/16) and Teredo
 * (2001::/32) — are judged by the IPv4 address they carry, as are the local-use NAT64 prefix
 * (64:ff9b:1::/48) and the deprecated IPv4-compatible form (::a.b.c.d). Parsing is ipaddr.js's,
 * not regexes.
 */
import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

function cidrs(list: string[]): [Address, number][] {
  return list.map((cidr) => ipaddr.parseCIDR(cidr));
}

const LINK_LOCAL = cidrs(['169.254.0.0/16', 'fe80::/10']);

const NOT_PUBLIC = cidrs([
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '224.0.0.0/4',
  '240.0.0.0/4',
  '::/128',
  '::1/128',
  'fc00::/7',
  'fec0::/10',
  'ff00::/8',
]);

const NAT64 = ipaddr.parseCIDR('64:ff9b::/96');
const NAT64_LOCAL = ipaddr.parseCIDR('64:ff9b:1::/48');
const IPV4_TRANSLATED = ipaddr.parseCIDR('::ffff:0:0:0/96');
// Deprecated IPv4-compatible addresses (::a.b.c.d); :: and ::1 themselves are judged as IPv6.
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96');
const SIX_TO_FOUR = ipaddr.parseCIDR('2002::/16');
const TEREDO = ipaddr.parseCIDR('2001::/32');

function inAny(address: Address, ranges: [Address, number][]): boolean {
  return ranges.some(([network, bits]) => address.kind() === network.kind() && address.match(network, bits));
}

function ipv4FromBytes(bytes: number[]): ipaddr.IPv4 {
  return new ipaddr.IPv4(bytes.slice(0, 4));
}

/** The IPv4 addresses an IPv6 address carries (and would be routed to), if any. */
export function embeddedIpv4(address: ipaddr.IPv6): ipaddr.IPv4[] {
  const bytes = address.toByteArray();
  if (address.isIPv4MappedAddress()) return [address.toIPv4Address()];
  if (address.match(NAT64) || address.match(NAT64_LOCAL) || address.match(IPV4_TRANSLATED) || address.match(IPV4_COMPATIBLE)) {
    return [ipv4FromBytes(bytes.slice(12))];
  }
  if (address.match(SIX_TO_FOUR)) return [ipv4FromBytes(bytes.slice(2, 6))];
  if (address.match(TEREDO)) {
    // Teredo: the server's IPv4 in bits 32-63, the client's (bit-inverted) in the last 32.
    return [ipv4FromBytes(bytes.slice(4, 8)), ipv4FromBytes(bytes.slice(12).map((b) => b ^ 0xff))];
  }
  return [];
}

export interface AddressPolicy {
  /** A reason to refuse the address, or undefined when it may be reached. */
  refusal(address: string): string | undefined;
}

export function addressPolicy(allowPrivate: boolean): AddressPolicy {
  const judge = (address: Address): string | undefined => {
    if (inAny(address, LINK_LOCAL)) return 'the host is a link-local address';
    if (!allowPrivate && inAny(address, NOT_PUBLIC)) return 'the host is a loopback, private or reserved address';
    return undefined;
  };
  return {
    refusal(text) {
      let address: Address;
      try {
        address = ipaddr.parse(text.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
      } catch {
        return 'the host has no usable address';
      }
      const own = judge(address);
      if (own) return own;
      if (address.kind() === 'ipv6') {
        for (const carried of embeddedIpv4(address as ipaddr.IPv6)) {
          const reason = judge(carried);
          if (reason) return reason;
        }
      }
      return undefined;
    },
  };
}
