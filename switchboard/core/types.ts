/** The vocabulary shared by decide(), the CLI, logs, metrics and the dashboard. */
import type { Origin } from '../config/parse.js';
import type { Owner, SwitchValue } from '../config/schema.js';
import type { Selector, SwitchLevel } from '../config/keys.js';

export type { Owner, SwitchValue, Origin, Selector, SwitchLevel };

export type Reason =
  | 'force_python'
  | 'hard_failure'
  | 'upload_pin'
  | 'route_switch'
  | 'capability_switch'
  | 'family_switch'
  | 'global_default'
  | 'unknown_route'
  | 'canary_org'
  | 'canary_repo'
  | 'canary_user'
  | 'canary_percent'
  | 'canary_miss';

export const REASONS: readonly Reason[] = [
  'force_python',
  'hard_failure',
  'upload_pin',
  'route_switch',
  'capability_switch',
  'family_switch',
  'global_default',
  'unknown_route',
  'canary_org',
  'canary_repo',
  'canary_user',
  'canary_percent',
  'canary_miss',
];

export type TraceEntry =
  | { readonly level: 'kill_switch'; readonly key: 'MIGRATION_FORCE_PYTHON'; readonly value: boolean; readonly origin: Origin; readonly won: boolean }
  | { readonly level: 'upload_pin'; readonly key: string; readonly value: Owner; readonly won: boolean }
  | { readonly level: SwitchLevel; readonly key: string; readonly value: SwitchValue | null; readonly origin: Origin | null; readonly won: boolean }
  | { readonly level: 'canary'; readonly key: string; readonly value: Owner; readonly selected_by: Selector | null; readonly won: boolean };

export interface CanaryCheck {
  readonly selector: Selector;
  /** The key that supplied this selector's value (scoped beats global), or null when neither is set. */
  readonly key: string | null;
  readonly value: readonly string[] | number | null;
  /** What was compared: the namespace, repository, user, or the percent subject. */
  readonly subject: string | null;
  readonly matched: boolean;
  /** percent only: what the subject is (namespace, user or client address). */
  readonly subject_kind?: 'namespace' | 'user' | 'client' | null;
  /** percent only: the subject's bucket, 0 ≤ bucket < 100 (murmur2 hash / 2^32 × 100). */
  readonly bucket?: number | null;
}

export interface CanaryOutcome {
  /** The scope of the switch that said canary: 'global', 'CAP_V2_PULL', 'FAMILY_API_V1', 'ROUTE_0016'. */
  readonly scope: string;
  readonly selected_by: Selector | null;
  readonly checks: readonly CanaryCheck[];
}

export interface Decision {
  readonly owner: Owner;
  readonly route_id: string | null;
  readonly capability: string | null;
  readonly family: string | null;
  readonly reason: Reason;
  readonly snapshot_version: number;
  /** Every level consulted, highest first, with what it said and whether it won. */
  readonly trace: readonly TraceEntry[];
  /** The canary explanation, when the request asked for `explain` and a canary decided. */
  readonly canary: CanaryOutcome | null;
  /** Path parameters of the matched route (repository, upload_uuid, ...). */
  readonly params: Readonly<Record<string, string>>;
  /** True when the path matched its row only with a trailing slash added (the owner answers with a redirect). */
  readonly slash_redirect: boolean;
}

export interface DecisionRequest {
  readonly method: string;
  /** Request target as received: path plus optional query string. */
  readonly path: string;
  /** The Authorization header, decoded only to find the user for canary selectors. */
  readonly authorization?: string | undefined;
  /** An already known username (the CLI's --user); wins over the Authorization header. */
  readonly user?: string | undefined;
  readonly clientAddress?: string | undefined;
  /** The owner pinned to this request's upload session, looked up by the proxy. */
  readonly uploadPin?: Owner | undefined;
  /** Also explain the canary (every selector's subject, bucket and verdict). The proxy leaves this off. */
  readonly explain?: boolean | undefined;
}

export interface WorkerDecision {
  readonly program: string;
  readonly owner: Owner;
  readonly key: string;
  readonly reason: 'force_python' | 'hard_failure' | 'worker_switch' | 'default';
  readonly origin: Origin;
  readonly snapshot_version: number;
}
