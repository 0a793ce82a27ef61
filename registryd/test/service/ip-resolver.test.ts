/**
 * Quay's resolve_ip without its GeoIP database: `aws` for addresses inside
 * an EC2 or CODEBUILD IPv4 prefix of the ranges file (regions in the order
 * the file first names them), `internet` otherwise, `invalid_ip` for text
 * that is no address, nothing for no address; the file's syncToken in each.
 */
import t from 'tap';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IpResolver, parseAwsRanges } from '../../service/ip-resolver.js';

const ranges = {
  syncToken: '1700000000',
  prefixes: [
    { ip_prefix: '3.0.0.0/15', region: 'us-west-1', service: 'AMAZON' },
    { ip_prefix: '3.5.0.0/16', region: 'eu-west-1', service: 'EC2' },
    { ip_prefix: '3.4.0.0/16', region: 'us-west-1', service: 'EC2' },
    { ip_prefix: '3.5.8.0/24', region: 'ap-south-1', service: 'CODEBUILD' },
    { ip_prefix: '52.0.0.0/8', region: 'us-east-1', service: 'S3' },
  ],
  ipv6_prefixes: [{ ipv6_prefix: '2600:1f00::/24', region: 'us-east-1', service: 'EC2' }],
};
const at = (provider: string, region: string | null, token: string | null = '1700000000') => ({
  provider,
  service: null,
  sync_token: token,
  country_iso_code: null,
  aws_region: region,
  continent: null,
});

t.test('with a ranges file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ip-ranges-'));
  const file = join(dir, 'ranges.json');
  writeFileSync(file, JSON.stringify(ranges));
  const r = IpResolver.fromFile(file);
  t.same(r.resolve('3.4.1.2'), at('aws', 'us-west-1'), 'an EC2 prefix');
  t.same(r.resolve('3.5.8.9'), at('aws', 'eu-west-1'), 'the first region the file names wins (eu-west-1 comes before ap-south-1)');
  t.same(r.resolve('3.1.0.1'), at('internet', null), 'AMAZON prefixes do not count');
  t.same(r.resolve('52.1.1.1'), at('internet', null), 'nor S3');
  t.same(r.resolve('2600:1f00::1'), at('internet', null), 'IPv6 prefixes are not read (Quay reads `prefixes` only)');
  t.same(r.resolve('127.0.0.1'), at('internet', null));
  t.same(r.resolve('not-an-ip'), at('invalid_ip', null));
  t.equal(r.resolve(null), null);
  t.equal(r.resolve(''), null);
  t.equal(r.resolve('3.4.1.2'), r.resolve('3.4.1.2'), 'answers are cached');
});

t.test('without one, or with one that has no syncToken', async (t) => {
  t.same(IpResolver.fromFile(null).resolve('3.4.1.2'), at('internet', null, null));
  t.equal(parseAwsRanges(JSON.stringify({ prefixes: ranges.prefixes })), null);
  t.same(new IpResolver(parseAwsRanges(JSON.stringify({ prefixes: ranges.prefixes }))).resolve('3.4.1.2'), at('internet', null, null));
  t.throws(() => IpResolver.fromFile('/nonexistent/ranges.json'));
});
