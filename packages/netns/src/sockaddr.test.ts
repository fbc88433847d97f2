import { isWeftError } from '@weft/telemetry/errors';
import { describe, expect, it } from 'vitest';
import { decodeSockaddr, encodeSockaddr, familyOf } from './sockaddr.js';

describe('sockaddr', () => {
  it.each([
    ['10.44.1.10', 15008],
    ['127.0.0.1', 1],
    ['::1', 443],
    ['fd00::1:2', 8080],
    ['2001:db8:0:0:1:0:0:1', 65535],
    ['fe80::', 0],
  ])('round-trips %s:%d', (address, port) => {
    const decoded = decodeSockaddr(encodeSockaddr(address, port));
    expect(decoded.port).toBe(port);
    expect(decoded.family).toBe(familyOf(address));
    // Compare canonical forms through Node's own parser.
    const canon = (a: string) => new URL(`http://[${a}]/`).hostname;
    if (decoded.family === 6) expect(canon(decoded.address)).toBe(canon(address));
    else expect(decoded.address).toBe(address);
  });

  it('reads v4-mapped IPv6 addresses as IPv4', () => {
    const buf = encodeSockaddr('::ffff:10.1.2.3', 80);
    expect(decodeSockaddr(buf)).toEqual({ family: 4, address: '10.1.2.3', port: 80 });
  });

  it('rejects hostnames with a stable code', () => {
    let caught: unknown;
    try {
      encodeSockaddr('example.com', 80);
    } catch (err) {
      caught = err;
    }
    expect(isWeftError(caught, 'WEFT_NETNS_BAD_ADDRESS')).toBe(true);
  });
});
