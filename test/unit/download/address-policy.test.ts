/**
 * Which addresses a package URL may reach (docs/api.md#the-url-policy): link-local never; loopback, private and
 * reserved ranges only when private URLs are allowed (the local stage); public addresses always.
 */
import { describe, expect, it } from 'vitest';
import { addressPolicy } from '../../../lib/download/address-policy';

const strict = addressPolicy(false);
const local = addressPolicy(true);

describe('addressPolicy', () => {
  it.each([
    ['the instance metadata address', '169.254.169.254'],
    ['the ECS task metadata address', '169.254.170.2'],
    ['an IPv6 link-local address', 'fe80::1'],
    ['an IPv6 link-local address with a zone', 'fe80::1%eth0'],
    ['the top of fe80::/10', 'febf:ffff::1'],
    ['an IPv4-mapped metadata address', '::ffff:169.254.169.254'],
    ['an IPv4-mapped metadata address in hex', '::ffff:a9fe:a9fe'],
    ['an IPv4-translated metadata address', '::ffff:0:169.254.169.254'],
  ])('refuses %s in every mode', (_case, address) => {
    // Act
    const refusals = [strict.refusal(address), local.refusal(address)];

    // Assess
    expect(refusals).toEqual([expect.stringMatching(/link-local/), expect.stringMatching(/link-local/)]);
  });

  it.each([
    ['IPv4 loopback', '127.0.0.1'],
    ['the far end of 127.0.0.0/8', '127.255.255.254'],
    ['IPv6 loopback', '::1'],
    ['IPv4-mapped loopback', '::ffff:127.0.0.1'],
    ['IPv4-mapped loopback in hex', '::ffff:7f00:1'],
    ['10.0.0.0/8', '10.1.2.3'],
    ['172.16.0.0/12', '172.31.255.1'],
    ['192.168.0.0/16', '192.168.1.10'],
    ['IPv4-mapped private', '::ffff:10.0.0.1'],
    ['carrier-grade NAT', '100.64.0.1'],
    ['the unspecified IPv4 address', '0.0.0.0'],
    ['the unspecified IPv6 address', '::'],
    ['IPv6 unique-local', 'fd00::1'],
    ['IPv6 site-local (deprecated, fec0::/10)', 'fec0::1'],
    ['the top of fec0::/10', 'feff:ffff::1'],
    ['IPv4-translated loopback (::ffff:0:0:0/96)', '::ffff:0:7f00:1'],
    ['IPv4-translated private', '::ffff:0:10.0.0.1'],
    ['multicast', '224.0.0.1'],
  ])('refuses %s unless private URLs are allowed', (_case, address) => {
    // Act
    const refusedStrictly = strict.refusal(address);
    const refusedLocally = local.refusal(address);

    // Assess
    expect(refusedStrictly).toMatch(/loopback, private or reserved/);
    expect(refusedLocally).toBeUndefined();
  });

  it.each([
    ['a public IPv4 address', '93.184.216.34'],
    ['a public IPv4 address next to 172.16.0.0/12', '172.32.0.1'],
    ['a public IPv4 address next to 169.254.0.0/16', '169.255.0.1'],
    ['a public IPv6 address', '2606:4700:4700::1111'],
    ['an IPv4-mapped public address', '::ffff:8.8.8.8'],
    ['an IPv4-translated public address', '::ffff:0:8.8.8.8'],
  ])('allows %s in every mode', (_case, address) => {
    // Act
    const refusals = [strict.refusal(address), local.refusal(address)];

    // Assess
    expect(refusals).toEqual([undefined, undefined]);
  });

  it('judges local-use NAT64 and deprecated IPv4-compatible addresses by the IPv4 they carry', () => {
    // Act
    const refusals = ['64:ff9b:1::a9fe:a9fe', '::a9fe:a9fe', '::7f00:1', '::a00:1'].map((address) => strict.refusal(address));

    // Assess
    expect(refusals[0]).toMatch(/link-local/);
    expect(refusals[1]).toMatch(/link-local/);
    expect(refusals[2]).toMatch(/loopback, private or reserved/);
    expect(refusals[3]).toMatch(/loopback, private or reserved/);
    expect(strict.refusal('::808:808')).toBeUndefined();
  });

  it('refuses what is not an IP address at all', () => {
    // Act
    const refusals = [strict.refusal('localhost'), local.refusal('example.com'), strict.refusal('')];

    // Assess
    for (const refusal of refusals) expect(refusal).toMatch(/no usable address/);
  });
});
