/**
 * The nginx front door as data: everything the templates in nginx-templates/
 * print, computed from one snapshot. Pure and deterministic: the same
 * snapshot and options give the same model (no clock, no environment).
 *
 * How nginx decides like decide() (DESIGN §3):
 *   $sb_match   per path group, the rows in RouteTable.ruleOrder() (first match
 *               wins, as in the trie), then the family prefixes, then the default,
 *               as ordered regex `map`s on "$request_method $uri"; hash maps on the
 *               path's last segments and the method pick the few a request tries
 *               (dispatch.ts). Its value names the row: the route id, `none:<family>`
 *               (a family prefix matched) or `none`; the row's regex captures the
 *               subject (`$sbj`). The dispatch regex also refuses a path that is
 *               not UTF-8 ($sb_seg "/bad").
 *   $sb_owner   one hash map on $sb_match: the row's plan (python | go | a canary),
 *               resolved at render time through route → capability → family →
 *               default (compileOwnerMap's plans); for a canary, the canary of its
 *               scope for the row's subject kind (r: a repository, n: a namespace,
 *               x: neither), so nginx never looks the kind up; on upload routes, the
 *               pin: the owner named by the upload's Location (sb_owner=…), else the
 *               plan's. The kill switch renders python everywhere.
 *   canary      per scope and kind: org / repo / user lists as a hash of the names
 *               whose hits a case-sensitive regex confirms, the percent as
 *               split_clients on the same subject key the switchboard hashes.
 *   location    one `if` on $sb_owner and each owner's upstream written out (no
 *               `proxy_pass $variable`, which nginx evaluates and parses per request).
 */
import type { Snapshot } from '../core/snapshot.js';
import type { CanaryPlan, Plan } from '../core/owner-map.js';
import type { Owner } from '../core/types.js';
import { SwitchboardError } from '../errors.js';
import { splitHostPort } from '../../lib/host-port.js';
import { methodsByRow, pcreLiteral, rowRegex, subjectKind, type SubjectKind } from './pcre.js';
import { buildDispatchTree, type DispatchEntry, type DispatchTree } from './dispatch.js';

export interface RenderOptions {
  /** The listener; default SWITCHBOARD.LISTEN. */
  readonly listen?: string;
  /** pid, error log and temp files go here; unset leaves nginx's compiled-in defaults. */
  readonly runtimeDir?: string | null;
  /** The access log path or 'off'; default SWITCHBOARD.ACCESS_LOG. */
  readonly accessLog?: string | undefined;
  /** TLS certificate and key for the listener (resolved by the caller from SWITCHBOARD.TLS), or null for plain HTTP. */
  readonly tls?: { readonly cert: string; readonly key: string } | null;
}

export interface MapEntry {
  readonly comments: readonly string[];
  readonly key: string;
  readonly value: string;
}

export interface RouteGroup {
  /** The literal path prefix the group serves, e.g. 'v2' or 'api/v1/organization' ('' for every other path). */
  readonly segment: string;
  /** The variable holding the group's row: the root of its dispatch tree. */
  readonly variable: string;
  readonly title: string;
  /** Every row of the group in order (what one ordered map would hold); the leaves hold parts of it. */
  readonly entries: readonly MapEntry[];
  readonly defaultValue: string;
  readonly tree: DispatchTree<MapEntry>;
}

/** What a canary selects by: the namespace and repository from the path (r: a repository route, n: a namespace route), or neither (x). */
export type CanaryKind = 'r' | 'n' | 'x';

/** The canary kind of a row's subject (an upload's is its repository's). */
export function canaryKind(k: SubjectKind): CanaryKind {
  return k === 'repository' || k === 'upload' ? 'r' : k === 'namespace' ? 'n' : 'x';
}

/**
 * One selector list of a canary, as two maps on `source`: `variable` hashes the
 * names (nginx's exact keys ignore case) and only a hit runs `confirm`, the
 * case-sensitive regex; both go on to `next` otherwise.
 */
export interface SelectorStep {
  readonly variable: string;
  readonly confirm: string;
  readonly source: string;
  readonly key: string;
  readonly names: readonly string[];
  /** The names as exact keys: lower case, each once. */
  readonly exact: readonly string[];
  /** For the names an exact key cannot hold (a control character): a regex in the first map that selects them, or null. */
  readonly unkeyed: string | null;
  readonly regex: string;
  /** The next list's variable, or the percent value. */
  readonly next: string;
}

export interface CanaryKindModel {
  readonly kind: CanaryKind;
  /** What the rows of this kind say: the first list's variable, or the percent value when no list applies. */
  readonly value: string;
  readonly steps: readonly SelectorStep[];
}

export interface CanaryModel {
  readonly scope: string;
  readonly comment: readonly string[];
  /** Per subject kind its rows have: the lists that can select them, then the percent. */
  readonly kinds: readonly CanaryKindModel[];
  readonly percentComment: string;
}

export interface SplitModel {
  readonly variable: string;
  readonly percent: string;
  /** The subject hashed: the namespace, or for paths without one the Basic user, else the client address. */
  readonly key: string;
}

/** An upload row's owner: the `sb_owner` its Location named, else `plan`. */
export interface PinModel {
  readonly variable: string;
  readonly plan: string;
}

export interface UpstreamModel {
  readonly owner: Owner;
  readonly name: string;
  readonly scheme: 'http' | 'https';
  readonly server: string;
  readonly host: string;
  readonly url: string;
}

export interface NginxModel {
  readonly source: { readonly file: string; readonly digest: string | null };
  readonly killSwitch: boolean;
  readonly hardFailure: boolean;
  readonly summary: readonly string[];
  /** Where nginx cannot decide as the switchboard does, for this snapshot (also printed by `render`). */
  readonly warnings: readonly string[];
  readonly listen: { readonly host: string; readonly port: number; readonly tls: { readonly cert: string; readonly key: string } | null };
  readonly runtimeDir: string | null;
  readonly upstreams: readonly UpstreamModel[];
  readonly unconfigured: readonly Owner[];
  readonly groups: readonly RouteGroup[];
  readonly otherGroup: RouteGroup;
  /** The regex on $uri whose $1 is the group key ('' for the other group) and that captures $sb_l1 and $sb_l2. */
  readonly dispatch: string;
  /** `dispatch` that also fails on a path that is not UTF-8 (what nginx runs: one regex for both). */
  readonly dispatchChecked: string;
  /**
   * How the location hands the request on: `first` is proxied to unless $sb_owner
   * is `other.owner` (proxied to its upstream, or 418 when it has none); no
   * `first` (no upstream at all): every request is 418.
   */
  readonly proxyTo: { readonly first: UpstreamModel | null; readonly other: { readonly owner: Owner; readonly upstream: UpstreamModel | null } };
  readonly canaries: readonly CanaryModel[];
  readonly splits: readonly SplitModel[];
  /** $sb_match → $sb_owner: the owner, a canary variable or an upload pin, for the rows whose value is not `planDefault`. */
  readonly planEntries: readonly MapEntry[];
  readonly planDefault: string;
  readonly pins: readonly PinModel[];
  /** The subject maps the canaries read: the repository route's namespace and repository, the percent subject without one. */
  readonly subjectMaps: { readonly nsR: boolean; readonly repoR: boolean; readonly percentUser: boolean };
  /** The row values that are no route (the family prefixes): $sb_route says `none`. */
  readonly noRouteValues: readonly string[];
  readonly pinning: boolean;
  readonly ping: { readonly routeId: string } | null;
  readonly libraryNamespace: string;
  readonly timeoutSeconds: number;
  /** SWITCHBOARD.TRUSTED_PROXIES: the front proxies whose X-Forwarded-* and Forwarded are kept. */
  readonly trustedProxies: readonly string[];
  /** SWITCHBOARD.REQUEST_BODY_TIMEOUT_SECONDS as nginx's client_body_timeout (nginx has no minimum rate). */
  readonly bodyTimeoutSeconds: number;
  readonly accessLog: string;
  readonly debugHeaders: boolean;
}

/**
 * nginx's quoting. Reading a quoted string, nginx turns \\ \" \' into the
 * character and \t \r \n into control characters, and keeps every other
 * backslash: so only those backslashes are doubled, and regexes stay readable
 * (`\S`, `\z` are written as is).
 */
export function ngxQuote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') out += i + 1 === s.length || '\\"\'trn'.includes(s[i + 1]!) ? '\\\\' : '\\';
    else if (c === '"') out += '\\"';
    else out += c;
  }
  return out + '"';
}

/**
 * An exact `map` key as nginx reads it: `default` and `include` are directives
 * there, a leading `~` makes a regex and a leading `\` is dropped, so those get a
 * `\` in front.
 */
export function mapKey(s: string): string {
  return s === 'default' || s === 'include' || s.startsWith('~') || s.startsWith('\\') ? `\\${s}` : s;
}

function scopeVar(scope: string): string {
  return `sb_canary_${scope.toLowerCase()}`;
}

function why(plan: Plan, kill: boolean, hard: boolean): string {
  if (hard) return 'python (no valid config was ever loaded)';
  if (kill) return 'python (MIGRATION_FORCE_PYTHON)';
  const w = plan.winner;
  const origin = w.origin && w.origin.source === 'default' ? 'default' : w.key;
  return plan.value === 'canary' ? `canary ${plan.canary!.scope} (${origin})` : `${plan.value} (${origin})`;
}

function upstreamOf(owner: Owner, url: string): UpstreamModel {
  const bad = (why: string): never => {
    throw new SwitchboardError('SWB_CONFIG_BAD_VALUE', `SWITCHBOARD.UPSTREAMS.${owner}: ${why}`);
  };
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return bad(`${url} is not a URL`);
  }
  if (u.pathname !== '/' && u.pathname !== '') bad(`${url}: the nginx front door proxies to an origin; drop the path ${u.pathname}`);
  if (u.username || u.password) bad('credentials in the URL cannot be given to nginx; drop them');
  if (u.search || u.hash) bad(`${url}: the nginx front door proxies to an origin; drop ${u.search || u.hash}`);
  if (!/^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])$/.test(u.hostname)) bad(`${url}: host ${u.hostname} is not a host name or IP address`);
  const scheme = u.protocol === 'https:' ? 'https' : 'http';
  const port = u.port || (scheme === 'https' ? '443' : '80');
  return { owner, name: `sb_${owner}`, scheme, server: `${u.hostname}:${port}`, host: u.hostname.replace(/^\[|\]$/g, ''), url };
}

function proxyTo(upstreams: readonly UpstreamModel[]): NginxModel['proxyTo'] {
  const python = upstreams.find((u) => u.owner === 'python') ?? null;
  const go = upstreams.find((u) => u.owner === 'go') ?? null;
  if (python) return { first: python, other: { owner: 'go', upstream: go } };
  return { first: go, other: { owner: 'python', upstream: null } };
}

function percentText(p: number): string {
  return String(Math.round(p * 100) / 100);
}

/** Characters a quoted nginx string cannot carry as themselves (and a comment or key must not). */
const CONTROL = /[\x00-\x1f\x7f]/;

function selectorStep(variable: string, source: string, key: string, names: readonly string[], next: string): SelectorStep {
  const sorted = [...new Set(names)].sort();
  return {
    variable,
    confirm: `${variable}_cs`,
    source,
    key,
    names: sorted,
    exact: [...new Set(sorted.filter((n) => !CONTROL.test(n)).map((n) => n.toLowerCase()))],
    unkeyed: sorted.some((n) => CONTROL.test(n))
      ? `^(?:${sorted
          .filter((n) => CONTROL.test(n))
          .map(pcreLiteral)
          .join('|')})\\z`
      : null,
    regex: `^(?:${sorted.map(pcreLiteral).join('|')})\\z`,
    next,
  };
}

/** Builds the model; throws SwitchboardError for settings nginx cannot take (an upstream with a path). */
export function buildNginxModel(s: Snapshot, opts: RenderOptions = {}): NginxModel {
  const om = s.owner_map;
  const inv = om.inventory;
  const kill = s.hard_failure || om.forcePython.value;
  const settings = s.settings;
  const librarySupport = om.table.librarySupport;
  const warnings: string[] = [];

  // ── upstreams ──
  const upstreams: UpstreamModel[] = [];
  const unconfigured: Owner[] = [];
  for (const owner of ['python', 'go'] as const) {
    const url = settings.UPSTREAMS?.[owner];
    if (url) upstreams.push(upstreamOf(owner, url));
    else unconfigured.push(owner);
  }
  if (unconfigured.includes('go') && settings.EMBEDDED_REGISTRY) {
    warnings.push(
      'the embedded registry (SWITCHBOARD.EMBEDDED_REGISTRY) runs inside `switchboard serve`; nginx cannot reach it: set SWITCHBOARD.UPSTREAMS.go to a running `quay serve`',
    );
  }
  for (const o of unconfigured) warnings.push(`owner ${o} has no upstream (SWITCHBOARD.UPSTREAMS.${o}): its requests are answered 503 not_configured`);

  // ── canary scopes in first-use order ──
  const scopes = new Map<string, CanaryPlan>();
  const note = (p: Plan): void => {
    if (!kill && p.value === 'canary' && !scopes.has(p.canary!.scope)) scopes.set(p.canary!.scope, p.canary!);
  };
  om.routePlans.forEach(note);
  for (const f of inv.families) note(om.familyPlans.get(f)!);
  note(om.defaultPlan);

  // ── route groups ──
  // One ordered map per first path segment that starts a family prefix (v2, api, ...),
  // one for every other path; a group with many rows is split further by its first
  // three literal segments (/api/v1/organization, ...), so a request scans only the
  // rows that can match it. Rows whose literal prefix is shorter than a group's key
  // (a parameter comes first) are in every group they agree with, in order.
  const segOf = (prefix: string): string => prefix.split('/')[1] ?? '';
  const firstSegs: string[] = [];
  for (const f of inv.familyPrefixes) if (f.prefix !== '' && !firstSegs.includes(segOf(f.prefix))) firstSegs.push(segOf(f.prefix));
  const leaves = om.table.ruleOrder();
  const counts = { python: 0, go: 0, canary: 0 };
  const leafEntries = leaves.map((leaf) => {
    const out: DispatchEntry<MapEntry>[] = [];
    for (const [route, methods] of methodsByRow(leaf.methods)) {
      const plan = om.routePlans[route.index]!;
      const { regex, shape } = rowRegex(route, methods, leaf.slashless, librarySupport);
      const tails = shape.tails;
      const shown = methods.filter((m) => (m !== 'HEAD' && m !== 'OPTIONS') || leaf.methods.get(m) === route).join(',') || methods.join(',');
      const entry = {
        comments: [
          `${route.id}  ${route.capability}  ${shown} ${route.pattern}${leaf.slashless ? ' (without its trailing /: Quay redirects)' : ''}  → ${why(plan, kill, s.hard_failure)}`,
        ],
        key: `~${regex}`,
        value: route.id,
      };
      const at = (k: 'l1' | 'l2'): string[] | null => (tails.some((t) => t[k] === null) ? null : [...new Set(tails.map((t) => t[k]!))]);
      out.push({ entry, keys: { $sb_l1: at('l1'), $sb_l2: at('l2') }, methods, shape });
    }
    const first = leaf.methods.values().next().value!;
    const parts = first.pattern.split('/').slice(1);
    const statics = parts.slice(0, (parts.findIndex((p) => p.includes('{')) + 1 || parts.length + 1) - 1);
    return { statics, family: first.family, entries: out };
  });
  for (const r of inv.routes) counts[kill ? 'python' : om.routePlans[r.index]!.value]++;

  const SPLIT_ABOVE = 64;
  const SUBGROUP_MIN = 16;
  const agrees = (a: readonly string[], key: readonly string[]): boolean => a.every((x, i) => i >= key.length || x === key[i]);
  const subKeys = new Map<string, string[][]>();
  for (const seg of firstSegs) {
    const mine = leafEntries.filter((l) => l.statics[0] === seg);
    if (mine.reduce((n, l) => n + l.entries.length, 0) <= SPLIT_ABOVE) continue;
    const by = new Map<string, number>();
    for (const l of mine)
      if (l.statics.length >= 3) {
        const k = l.statics.slice(0, 3).join('/');
        by.set(k, (by.get(k) ?? 0) + l.entries.length);
      }
    const keys = [...by]
      .filter(([, n]) => n >= SUBGROUP_MIN)
      .map(([k]) => k.split('/'))
      .sort((a, b) => a.join('/').localeCompare(b.join('/')));
    if (keys.length) subKeys.set(seg, keys);
  }
  const isSubKey = (st: readonly string[]): boolean => st.length >= 3 && (subKeys.get(st[0]!) ?? []).some((k) => k.every((x, i) => st[i] === x));

  const familyHeader = (f: string): string => {
    const fp = om.familyPlans.get(f)!;
    return `── ${f} ── family switch ${fp.levels[0]!.key}: ${fp.levels[0]!.value ?? 'unset'}`;
  };
  const ANY = { $sb_l1: null, $sb_l2: null };
  /** `key`: the group's literal prefix; null for every other path. */
  let groupIndex = 0;
  const groupFor = (key: readonly string[] | null, title: string): RouteGroup => {
    const member = (st: readonly string[]): boolean => {
      if (st.length === 0) return true;
      if (key === null) return !firstSegs.includes(st[0]!);
      if (!agrees(st, key)) return false;
      return key.length > 1 || !isSubKey(st);
    };
    const items: DispatchEntry<MapEntry>[] = [];
    let lastFamily = '';
    for (const le of leafEntries) {
      if (!member(le.statics)) continue;
      for (const [i, it] of le.entries.entries()) {
        const head = i === 0 && le.family !== lastFamily ? [familyHeader(le.family)] : [];
        if (i === 0) lastFamily = le.family;
        items.push(head.length ? { ...it, entry: { ...it.entry, comments: [...head, ...it.entry.comments] } } : it);
      }
    }
    // No row matched: the family of the longest matching prefix, as decide() does.
    const prefixes = om.prefixes.filter((p) => {
      const ps = p.prefix.split('/').slice(1);
      return key === null ? !firstSegs.includes(ps[0]!) : agrees(ps, key);
    });
    for (const [i, p] of prefixes.entries()) {
      const plan = om.familyPlans.get(p.family)!;
      const entry = {
        comments: [...(i === 0 ? ['── no row matched: the family by path prefix ──'] : []), `${p.prefix}…  family ${p.family}  → ${why(plan, kill, s.hard_failure)}`],
        key: `~^\\S+ ${pcreLiteral(p.prefix)}(?:/|\\z)`,
        value: `none:${p.family}`,
      };
      items.push({ entry, keys: ANY, methods: null, shape: null });
    }
    // Short names: nginx hashes every variable name into 64-byte buckets by default.
    const g = `sb_g${++groupIndex}`;
    const tree = buildDispatchTree(g, `${g}_`, items);
    return { segment: key === null ? '' : key.join('/'), variable: tree.root, title, entries: items.map((it) => it.entry), defaultValue: 'none', tree };
  };
  const groups: RouteGroup[] = [];
  for (const seg of firstSegs) {
    const fams = [...new Set(inv.familyPrefixes.filter((f) => f.prefix !== '' && segOf(f.prefix) === seg).map((f) => `${f.family} (${f.prefix})`))].join(', ');
    for (const k of subKeys.get(seg) ?? []) groups.push(groupFor(k, `/${k.join('/')}…: ${fams}`));
    groups.push(groupFor([seg], subKeys.has(seg) ? `/${seg}… (the rest): ${fams}` : `/${seg}…: ${fams}`));
  }
  const otherGroup = groupFor(null, 'every other path (the web UI and the rows whose first segment is a parameter)');
  const variables = [...groups, otherGroup].flatMap((g) => [...g.tree.nodes, ...g.tree.leaves].map((x) => x.variable));
  const twice = variables.find((v, i) => variables.indexOf(v) !== i);
  if (twice) throw new SwitchboardError('SWB_INTERNAL', `nginx front door: two path groups would both use $${twice}`);
  // $1: the group (a split group's key first, so /api/v1/user/… is not taken for /api/…),
  // '' for every other path; $sb_l2 and $sb_l1: the path's last two segments.
  const groupKeys = [...[...subKeys.values()].flat().map((k) => k.join('/')), ...firstSegs];
  // The segments are walked whole (possessive), the shortest way to the last two.
  // A path that is not UTF-8: the same check as the switchboard's, paid in full only from the first non-ASCII byte.
  const utf8 =
    '(?=[\\x00-\\x7F]*+(?:\\z|(?:[\\x00-\\x7F]|[\\xC2-\\xDF][\\x80-\\xBF]|\\xE0[\\xA0-\\xBF][\\x80-\\xBF]|[\\xE1-\\xEC\\xEE\\xEF][\\x80-\\xBF]{2}|\\xED[\\x80-\\x9F][\\x80-\\xBF]|\\xF0[\\x90-\\xBF][\\x80-\\xBF]{2}|[\\xF1-\\xF3][\\x80-\\xBF]{3}|\\xF4[\\x80-\\x8F][\\x80-\\xBF]{2})*+\\z))';
  const dispatch = `^(?=(?|/(${groupKeys.map(pcreLiteral).join('|')})(?:/|\\z)|()))(?:(?:[^/]*+/)*?(?<sb_l2>[^/]*+)/)?(?<sb_l1>[^/]*+)\\z`;

  // ── canaries ──
  // Per scope and per subject kind of its rows, so that nginx never asks which
  // kind a row is: r (repository routes: the namespace and repository from
  // $sbj), n (namespace routes: $sbj is the namespace), x (neither: only the
  // users list and the percent on the Basic user or client address apply).
  const kindOfValue = new Map<string, CanaryKind>(inv.routes.map((r) => [r.id, canaryKind(subjectKind(r))]));
  const kindsOf = (scope: string): CanaryKind[] => {
    const ks = new Set<CanaryKind>();
    const on = (p: Plan): boolean => p.value === 'canary' && p.canary!.scope === scope;
    for (const r of inv.routes) if (on(om.routePlans[r.index]!)) ks.add(kindOfValue.get(r.id)!);
    for (const f of new Set(om.prefixes.map((p) => p.family))) if (on(om.familyPlans.get(f)!)) ks.add('x');
    if (on(om.defaultPlan)) ks.add('x');
    return (['r', 'n', 'x'] as const).filter((k) => ks.has(k));
  };
  const NS: Record<CanaryKind, string | null> = { r: '$sb_ns_r', n: '$sbj', x: null };
  const REPO: Record<CanaryKind, string | null> = { r: '$sb_repo_r', n: null, x: null };
  const PERCENT_KEY: Record<CanaryKind, string> = { r: '$sb_ns_r', n: '$sbj', x: '$sb_percent_user' };
  const used = new Set<string>();
  const splits = new Map<string, SplitModel>();
  const canaries: CanaryModel[] = [];
  const noNamespaceRoutes = (scope: string): number =>
    inv.routes.filter((r) => {
      const p = om.routePlans[r.index]!;
      return p.value === 'canary' && p.canary!.scope === scope && !/\{(repository|orgname|namespace)(:[a-z]+)?\}/.test(r.pattern);
    }).length;
  for (const [scope, c] of scopes) {
    const variable = scopeVar(scope);
    if (c.users.list && c.users.list.size) {
      warnings.push(
        `canary ${scope}: the users selector (${c.users.key}) matches Basic-auth users only in nginx ($remote_user); a user known only from a bearer token's sub is not selected by nginx (the switchboard selects it)`,
      );
    }
    const p = c.percent.percent;
    let percentComment = 'no percent set: nobody else';
    let percent: ((k: CanaryKind) => string) | null = null;
    if (p !== null && p >= 100) percentComment = `percent 100 (${c.percent.key}): everybody`;
    else if (p !== null && p > 0) {
      const text = percentText(p);
      const base = `sb_percent_${String(Math.round(p * 100)).padStart(5, '0')}`;
      percent = (k) => {
        const v = `${base}_${k}`;
        splits.set(v, { variable: v, percent: `${text}%`, key: PERCENT_KEY[k] });
        return `$${v}`;
      };
      percentComment = `percent ${text} (${c.percent.key}): split_clients on the subject`;
      const n = noNamespaceRoutes(scope);
      if (n > 0)
        warnings.push(
          `canary ${scope}: ${n} route(s) have no namespace in the path; their percent subject in nginx is the Basic-auth user, else the client address (the switchboard also reads a bearer token's sub)`,
        );
    } else if (p !== null) percentComment = `percent 0 (${c.percent.key}): nobody else`;
    const kinds = kindsOf(scope).map((k): CanaryKindModel => {
      const lists: [string, string | null, { key: string | null; list: ReadonlySet<string> | null }][] = [
        ['orgs', NS[k], c.orgs],
        ['repos', REPO[k], c.repos],
        ['users', '$remote_user', c.users],
      ];
      const applicable = lists.filter(([, source, sel]) => source !== null && sel.list !== null && sel.list.size > 0);
      let next = percent ? percent(k) : p !== null && p >= 100 ? 'go' : 'python';
      const steps: SelectorStep[] = [];
      for (const [name, source, sel] of [...applicable].reverse()) {
        const step = selectorStep(`${variable}_${k}_${name}`, source!, sel.key!, [...sel.list!], next);
        steps.unshift(step);
        next = `$${step.variable}`;
      }
      for (const st of steps) used.add(st.source);
      if (!steps.length && percent) used.add(PERCENT_KEY[k]);
      return { kind: k, value: next, steps };
    });
    canaries.push({
      scope,
      comment: [`canary ${scope}: ${om.routePlans.filter((pl) => pl.value === 'canary' && pl.canary!.scope === scope).length} route(s)`],
      kinds,
      percentComment,
    });
  }
  for (const sp of splits.values()) used.add(sp.key);
  // ── what the row says: its owner (plan, canary or upload pin), by hash on $sb_match ──
  const canaryValue = new Map(canaries.flatMap((c) => c.kinds.map((k) => [`${c.scope}:${k.kind}`, k.value] as const)));
  const planValue = (p: Plan, k: CanaryKind): string => (kill ? 'python' : p.value === 'canary' ? canaryValue.get(`${p.canary!.scope}:${k}`)! : p.value);
  const pinning = settings.PIN_UPLOADS && !kill;
  const pins = new Map<string, PinModel>();
  const pinned = (plan: string): string => {
    let pin = pins.get(plan);
    if (!pin) pins.set(plan, (pin = { variable: `sb_pin_${pins.size + 1}`, plan }));
    return `$${pin.variable}`;
  };
  const planDefault = planValue(om.defaultPlan, 'x');
  const planEntries: MapEntry[] = [];
  for (const r of inv.routes) {
    const sk = subjectKind(r);
    const plan = planValue(om.routePlans[r.index]!, canaryKind(sk));
    const v = pinning && sk === 'upload' ? pinned(plan) : plan;
    if (v !== planDefault) planEntries.push({ comments: [], key: r.id, value: v });
  }
  const noRouteValues = [...new Set(om.prefixes.map((p) => `none:${p.family}`))];
  for (const f of [...new Set(om.prefixes.map((p) => p.family))]) {
    const v = planValue(om.familyPlans.get(f)!, 'x');
    if (v !== planDefault) planEntries.push({ comments: [], key: `none:${f}`, value: v });
  }

  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(om.libraryNamespace)) {
    throw new SwitchboardError(
      'SWB_CONFIG_BAD_VALUE',
      `LIBRARY_NAMESPACE: ${JSON.stringify(om.libraryNamespace)} cannot be written into nginx; a namespace is letters, digits, ".", "_" and "-"`,
    );
  }
  const pingRow = inv.routes.find((r) => r.pattern === '/v1/_ping' && r.method === 'GET');
  const listen = splitHostPort(opts.listen ?? settings.LISTEN, (m) => new SwitchboardError('SWB_CLI_USAGE', m));
  const logSetting = opts.accessLog ?? settings.ACCESS_LOG;
  const accessLog = logSetting === 'off' ? 'off' : logSetting === 'stdout' ? '/dev/stdout' : logSetting === 'stderr' ? '/dev/stderr' : logSetting;

  return {
    source: { file: s.source.file, digest: s.source.digest },
    killSwitch: om.forcePython.value,
    hardFailure: s.hard_failure,
    summary: [`${inv.routes.length} routes: ${counts.python} python, ${counts.go} go, ${counts.canary} canary`],
    warnings,
    listen: { host: listen.host, port: listen.port, tls: opts.tls ?? null },
    runtimeDir: opts.runtimeDir ?? null,
    upstreams,
    unconfigured,
    groups,
    otherGroup,
    dispatch,
    dispatchChecked: `^${utf8}${dispatch.slice(1)}`,
    proxyTo: proxyTo(upstreams),
    canaries,
    splits: [...splits.values()].sort((a, b) => a.variable.localeCompare(b.variable)),
    planEntries,
    planDefault,
    pins: [...pins.values()],
    subjectMaps: { nsR: used.has('$sb_ns_r'), repoR: used.has('$sb_repo_r'), percentUser: used.has('$sb_percent_user') },
    noRouteValues,
    pinning,
    ping: pingRow ? { routeId: pingRow.id } : null,
    libraryNamespace: om.libraryNamespace,
    timeoutSeconds: settings.UPSTREAM_TIMEOUT_SECONDS,
    trustedProxies: settings.TRUSTED_PROXIES,
    bodyTimeoutSeconds: Math.ceil(settings.REQUEST_BODY_TIMEOUT_SECONDS),
    accessLog,
    debugHeaders: settings.DEBUG_HEADERS,
  };
}
