/**
 * Which network addresses a package URL may reach. Link-local (cloud metadata) is refused in
 * every stage; loopback and private ranges only in the local stage (DESIGN §7).
 * Node's BlockList also matches IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) against IPv4 rules.
 */
import { BlockList, isIP } from 'node:net';

type Range = [network: string, prefix: number, family: 'ipv4' | 'ipv6'];

const ALWAYS_BLOCKED: Range[] = [
  ['169.254.0.0', 16, 'ipv4'],
  ['fe80::', 10, 'ipv6'],
];

const BLOCKED_OUTSIDE_LOCAL: Range[] = [
  ['0.0.0.0', 8, 'ipv4'],
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['127.0.0.0', 8, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.0.0.0', 24, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'],
  ['240.0.0.0', 4, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['::1', 128, 'ipv6'],
  ['fc00::', 7, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
];

function blockListOf(ranges: Range[]): BlockList {
  const list = new BlockList();
  for (const [network, prefix, family] of ranges) list.addSubnet(network, prefix, family);
  return list;
}

export interface AddressPolicy {
  /** A reason to refuse the address, or undefined when it may be reached. */
  refusal(address: string): string | undefined;
}

export function addressPolicy(allowPrivate: boolean): AddressPolicy {
  const always = blockListOf(ALWAYS_BLOCKED);
  const outsideLocal = blockListOf(BLOCKED_OUTSIDE_LOCAL);
  return {
    refusal(address) {
      const family = isIP(address) === 6 ? 'ipv6' : isIP(address) === 4 ? 'ipv4' : undefined;
      if (!family) return 'the host has no usable address';
      if (always.check(address, family)) return 'the host is a link-local address';
      if (!allowPrivate && outsideLocal.check(address, family)) return 'the host is a loopback, private or reserved address';
      return undefined;
    },
  };
}
