/**
 * Who a request comes from (client-address.ts): the peer, unless it is a
 * trusted proxy; then the rightmost X-Forwarded-For hop that is not. A
 * client cannot pose as another by writing X-Forwarded-For; IPv6 clients are
 * grouped by /64.
 */
import t from 'tap';
import { ClientAddresses, clientKeyOf, parseAddressRange } from '../../../lib/client-address.js';

t.test('nothing trusted: the peer, whatever X-Forwarded-For says', async (t) => {
  const c = new ClientAddresses();
  t.equal(c.addressOf('127.0.0.1', '10.0.0.1'), '127.0.0.1');
  t.equal(c.addressOf('::ffff:192.0.2.7', undefined), '192.0.2.7', 'an IPv4 peer on a dual-stack socket');
});

t.test('a trusted proxy: the rightmost hop that is not trusted', async (t) => {
  const c = new ClientAddresses(['127.0.0.1', '10.0.0.0/8', 'fd00::/8']);
  t.equal(c.addressOf('127.0.0.1', '192.0.2.1'), '192.0.2.1');
  t.equal(c.addressOf('127.0.0.1', '6.6.6.6, 192.0.2.1'), '192.0.2.1', "what the client wrote left of the proxy's entry is ignored");
  t.equal(c.addressOf('127.0.0.1', '192.0.2.1, 10.1.2.3'), '192.0.2.1', 'through a chain of trusted proxies');
  t.equal(c.addressOf('127.0.0.1', ['192.0.2.1', '10.1.2.3']), '192.0.2.1', 'repeated headers read as one list');
  t.equal(c.addressOf('127.0.0.1', '10.1.2.3, 10.9.9.9'), '10.1.2.3', 'all trusted: the farthest');
  t.equal(c.addressOf('127.0.0.1', 'garbage, 10.1.2.3'), '10.1.2.3', 'garbage: the nearest trusted hop');
  t.equal(c.addressOf('127.0.0.1', 'garbage'), '127.0.0.1');
  t.equal(c.addressOf('::ffff:127.0.0.1', '192.0.2.9'), '192.0.2.9', 'a mapped peer is matched as IPv4');
  t.equal(c.addressOf('192.0.2.50', '192.0.2.1'), '192.0.2.50', "an untrusted peer's header is not believed");
  t.equal(c.addressOf('fd12::1', '2001:db8::5'), '2001:db8::5');
});

t.test('client keys: IPv4 as is, IPv6 by /64', async (t) => {
  t.equal(clientKeyOf('192.0.2.1'), '192.0.2.1');
  t.equal(clientKeyOf('::ffff:192.0.2.1'), '192.0.2.1');
  t.equal(clientKeyOf('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64');
  t.equal(clientKeyOf('2001:db8:1:2::9'), '2001:db8:1:2::/64', 'one /64, one client');
  t.equal(clientKeyOf('2001:db8::1'), '2001:db8:0:0::/64');
  t.equal(clientKeyOf('::1'), '0:0:0:0::/64');
  t.equal(clientKeyOf('fe80::1%eth0'), 'fe80:0:0:0::/64');
  t.equal(clientKeyOf('64:ff9b::192.0.2.1'), '64:ff9b:0:0::/64', 'a dotted tail');
  t.not(clientKeyOf('2001:db8:1:2::9'), clientKeyOf('2001:db8:1:3::9'));
});

t.test('parseAddressRange takes addresses and ranges, refuses the rest', async (t) => {
  t.same(parseAddressRange('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 'ipv4' });
  t.same(parseAddressRange('127.0.0.1'), { address: '127.0.0.1', prefix: 32, family: 'ipv4' });
  t.same(parseAddressRange('fd00::/8'), { address: 'fd00::', prefix: 8, family: 'ipv6' });
  for (const bad of ['', 'localhost', '10.0.0.0/33', '::/129', '10.0.0.0/x', '10.0.0.0/8/8', '1.2.3']) t.equal(parseAddressRange(bad), null, JSON.stringify(bad));
});
