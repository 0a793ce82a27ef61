/**
 * What the go owner implements, for one-shot commands (`set`, `config
 * validate`): asked of SWITCHBOARD.UPSTREAMS.go (GET /.well-known/switchboard,
 * 2 s), or, for the embedded registry, read from the go runtime's own claims under
 * this config's Quay keys (io.goRuntime, injected by bin/switchboard.js) (the same document it would serve). No go upstream:
 * every capability is unknown.
 */
import { readFileSync } from 'node:fs';
import { peekYaml } from '../../lib/yaml-lines.js';
import type { SwitchConfig } from '../config/parse.js';
import type { Snapshot } from '../core/snapshot.js';
import type { ReadinessView } from '../control/readiness-gate.js';
import { probeGo, verdict } from '../proxy/readiness.js';
import type { GoRuntimeHooks } from './common.js';

export interface GoView extends ReadinessView {
  /** Where the answer came from: the upstream URL, "the embedded registry", or why there is none. */
  readonly source: string;
  /** Set when go could not be asked: every verdict is unknown. */
  readonly problem: string | null;
}

function topLevelKeys(file: string): Record<string, unknown> {
  try {
    return peekYaml(readFileSync(file, 'utf8'));
  } catch {
    return {};
  }
}

export async function goView(config: SwitchConfig, goRuntime: GoRuntimeHooks | undefined, timeoutMs = 2000): Promise<GoView> {
  const url = config.settings.UPSTREAMS?.go;
  if (url) {
    const r = await probeGo(url, timeoutMs);
    return {
      source: r.upstream ?? url,
      problem: r.reachable ? null : `cannot ask ${r.upstream ?? 'go'} what it implements: ${r.error ?? r.failure ?? 'no answer'}`,
      implements: (cap) => verdict(r, cap),
    };
  }
  if (config.settings.EMBEDDED_REGISTRY) {
    if (!goRuntime)
      return {
        source: 'the embedded registry',
        problem: 'this switchboard was started without the go runtime (run bin/switchboard.js): what it implements cannot be read',
        implements: () => 'unknown',
      };
    const claimed = new Set(await goRuntime.claims(topLevelKeys(config.file)));
    return { source: 'the embedded registry', problem: null, implements: (cap) => (claimed.has(cap) ? 'yes' : 'no') };
  }
  return { source: 'none', problem: 'SWITCHBOARD.UPSTREAMS.go is not set: what go implements cannot be asked', implements: () => 'unknown' };
}

/** Capabilities the snapshot sends to go (owner go, or canary) that go does not say it implements, with their verdicts. */
export function goOwnedNotImplemented(s: Snapshot, view: GoView): { capability: string; verdict: 'no' | 'unknown'; routes: number }[] {
  const counts = new Map<string, number>();
  if (s.owner_map.forcePython.value) return [];
  for (const r of s.owner_map.inventory.routes) {
    const p = s.owner_map.routePlans[r.index]!;
    if (p.value === 'go' || p.value === 'canary') counts.set(r.capability, (counts.get(r.capability) ?? 0) + 1);
  }
  const out: { capability: string; verdict: 'no' | 'unknown'; routes: number }[] = [];
  for (const [capability, routes] of [...counts].sort()) {
    const v = view.implements(capability);
    if (v !== 'yes') out.push({ capability, verdict: v, routes });
  }
  return out;
}
