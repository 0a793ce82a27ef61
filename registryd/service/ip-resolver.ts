/**
 * Quay's `resolved_ip` (util/ipresolver IPResolver.resolve_ip), the location
 * an action log records for the client's address:
 *   - no address: nothing (the log has no `resolved_ip`);
 *   - not an address: provider `invalid_ip`;
 *   - inside an EC2 or CODEBUILD IPv4 prefix of AWS's ip-ranges file:
 *     provider `aws` with that prefix's region (regions tried in the order the
 *     file first names them, as Quay does);
 *   - anything else: provider `internet`.
 * `sync_token` is the file's `syncToken` (null without a file). Quay reads
 * the copy shipped in its source tree (util/ipresolver/aws-ip-ranges.json);
 * point AWS_IP_RANGES_FILE at the same file and both sides write the same
 * value. Quay's GeoIP country database is not read: `country_iso_code` and
 * `continent` stay null, as in Quay when that database is absent.
 */
import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';

/** The value Quay stores (ResolvedLocation._asdict(): this key order). */
export interface ResolvedLocation {
  readonly provider: 'aws' | 'internet' | 'invalid_ip';
  readonly service: null;
  readonly sync_token: string | null;
  readonly country_iso_code: null;
  readonly aws_region: string | null;
  readonly continent: null;
}

/** The AWS services whose prefixes count as `aws` (Quay's AWS_SERVICES). */
const AWS_SERVICES: ReadonlySet<string> = new Set(['EC2', 'CODEBUILD']);
const CACHE_MAX = 4096;

interface AwsRanges {
  readonly syncToken: string;
  readonly regions: readonly (readonly [string, BlockList])[];
}

/** The ranges of an ip-ranges.json text; null when it has no syncToken (Quay then ignores the file). */
export function parseAwsRanges(text: string): AwsRanges | null {
  const doc = JSON.parse(text) as { syncToken?: unknown; prefixes?: { ip_prefix?: unknown; region?: unknown; service?: unknown }[] };
  if (typeof doc.syncToken !== 'string' || doc.syncToken === '') return null;
  const regions = new Map<string, BlockList>();
  for (const p of doc.prefixes ?? []) {
    if (typeof p.region !== 'string') continue;
    let list = regions.get(p.region);
    if (!list) {
      list = new BlockList();
      regions.set(p.region, list);
    }
    if (typeof p.service !== 'string' || !AWS_SERVICES.has(p.service) || typeof p.ip_prefix !== 'string') continue;
    const [address = '', bits = '32'] = p.ip_prefix.split('/');
    if (isIP(address) === 4) list.addSubnet(address, Number(bits), 'ipv4');
  }
  return { syncToken: doc.syncToken, regions: [...regions] };
}

export class IpResolver {
  private readonly cache = new Map<string, ResolvedLocation>();

  constructor(private readonly aws: AwsRanges | null) {}

  /** From AWS's ip-ranges.json at `file`; null: no file (Quay without its copy). Throws when the file cannot be read. */
  static fromFile(file: string | null): IpResolver {
    return new IpResolver(file === null ? null : parseAwsRanges(readFileSync(file, 'utf8')));
  }

  /** Quay's resolve_ip; null for no address. */
  resolve(ip: string | null): ResolvedLocation | null {
    if (!ip) return null;
    const hit = this.cache.get(ip);
    if (hit) return hit;
    const r = this.compute(ip);
    if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(ip, r);
    return r;
  }

  private compute(ip: string): ResolvedLocation {
    const syncToken = this.aws?.syncToken ?? null;
    const v = isIP(ip);
    const at = (provider: ResolvedLocation['provider'], region: string | null): ResolvedLocation => ({
      provider,
      service: null,
      sync_token: syncToken,
      country_iso_code: null,
      aws_region: region,
      continent: null,
    });
    if (v === 0) return at('invalid_ip', null);
    if (v === 4 && this.aws) {
      for (const [region, list] of this.aws.regions) if (list.check(ip, 'ipv4')) return at('aws', region);
    }
    return at('internet', null);
  }
}
