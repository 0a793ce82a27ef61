/**
 * autopruneworker (Quay's workers/autopruneworker.py, data/model/autoprune.py):
 * every AUTO_PRUNING_POLL_PERIOD (30 s) up to AUTO_PRUNING_BATCH_SIZE (10)
 * namespace tasks (`autoprunetaskstatus`, made when a policy is created),
 * each claimed for AUTOPRUNE_TASK_RUN_MINIMUM_INTERVAL_MINUTES (60). A
 * namespace's policies apply to each of its repositories together with that
 * repository's own; without namespace policies, the repository policies
 * alone; without either, the task is deleted. Per repository, the
 * creation-date policies first, then the number-of-tags ones. A pruned tag
 * ends now (Quay's tag delete: gcworker collects it after the time machine)
 * and gets an `autoprune_tag_delete` action log row. The task's status ends
 * `success` or `failure: <why>`.
 *
 * With DEFAULT_NAMESPACE_AUTOPRUNE_POLICY, a registry-wide pass applies it to
 * every active namespace every AUTO_PRUNING_DEFAULT_POLICY_POLL_PERIOD
 * (a day), from the first pass on.
 */
import type { Logger } from '../../lib/log.js';
import type { Dal } from '../../dal/model/dal.js';
import { pythonJsonDumps } from '../../lib/python-json.js';
import { AutoPruneData, type AutoPrunePolicy, type TagPattern } from '../../dal/portable/autoprune.js';
import type { WorkerProgram } from '../runner.js';
import { parseTimedelta } from './schedulers.js';

export const CREATION_DATE = 'creation_date';
export const NUMBER_OF_TAGS = 'number_of_tags';

/** The settings autopruneworker reads, with Quay's defaults. */
export interface AutoPruneOptions {
  readonly pollMs: number;
  readonly batchSize: number;
  readonly taskIntervalMs: number;
  readonly tagPageLimit: number;
  readonly repositoryPageLimit: number;
  readonly namespacePageLimit: number;
  /** DEFAULT_NAMESPACE_AUTOPRUNE_POLICY, or null. */
  readonly defaultPolicy: Readonly<Record<string, unknown>> | null;
  readonly defaultPolicyEveryMs: number;
}

export function autoPruneOptions(cfg: Readonly<Record<string, unknown>>): AutoPruneOptions {
  const n = (key: string, fallback: number): number => {
    const v = cfg[key];
    return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : fallback;
  };
  const dp = cfg.DEFAULT_NAMESPACE_AUTOPRUNE_POLICY;
  return {
    pollMs: n('AUTO_PRUNING_POLL_PERIOD', 30) * 1000,
    batchSize: n('AUTO_PRUNING_BATCH_SIZE', 10),
    taskIntervalMs: n('AUTOPRUNE_TASK_RUN_MINIMUM_INTERVAL_MINUTES', 60) * 60_000,
    tagPageLimit: n('AUTOPRUNE_FETCH_TAGS_PAGE_LIMIT', 100),
    repositoryPageLimit: n('AUTOPRUNE_FETCH_REPOSITORIES_PAGE_LIMIT', 50),
    namespacePageLimit: n('AUTO_PRUNING_DEFAULT_POLICY_FETCH_NAMESPACES_LIMIT', 50),
    defaultPolicy: dp !== null && typeof dp === 'object' && !Array.isArray(dp) ? (dp as Record<string, unknown>) : null,
    defaultPolicyEveryMs: n('AUTO_PRUNING_DEFAULT_POLICY_POLL_PERIOD', 86_400) * 1000,
  };
}

/** assert_valid_namespace_autoprune_policy: Quay's messages, which end up in a failed task's status. */
export function policyProblem(config: Readonly<Record<string, unknown>>): string | null {
  const method = config.method;
  if (method !== CREATION_DATE && method !== NUMBER_OF_TAGS) return 'Invalid method provided';
  const value = config.value;
  // Python's valid_value: a falsy value never; True is an int there (so it counts as 1).
  const valid =
    method === NUMBER_OF_TAGS
      ? value === true || (typeof value === 'number' && Number.isInteger(value) && value > 0)
      : typeof value === 'string' && value !== '' && parseTimedelta(value) !== null;
  if (!valid) return 'Invalid value given for method type';
  const pattern = config.tag_pattern;
  if (pattern !== undefined && pattern !== null) {
    if (typeof pattern !== 'string') return 'tag_pattern must be string';
    if (pattern === '') return 'tag_pattern cannot be empty';
  }
  const matches = config.tag_pattern_matches;
  if (matches !== undefined && matches !== null && typeof matches !== 'boolean') return 'tag_pattern_matches must be bool';
  return null;
}

/** The policy's pattern; Quay's db_regex_search keeps the matching tags only when tag_pattern_matches is truthy (absent means non-matching). */
function patternOf(config: Readonly<Record<string, unknown>>): TagPattern | null {
  return typeof config.tag_pattern === 'string' ? { source: config.tag_pattern, matches: config.tag_pattern_matches === true } : null;
}

export interface AutoPruneDeps {
  readonly dal: Dal;
  readonly log: Logger;
  readonly quayConfig: Readonly<Record<string, unknown>>;
  readonly now?: () => number;
}

interface PassCounts {
  tasks: number;
  failed: number;
  pruned: number;
}

/** The pruning itself, shared by the task pass and the registry-wide pass. */
export class AutoPruner {
  readonly data: AutoPruneData;
  private readonly now: () => number;

  constructor(
    private readonly d: AutoPruneDeps,
    private readonly o: AutoPruneOptions,
  ) {
    const cfg = d.quayConfig;
    this.data = new AutoPruneData(d.dal, {
      pullStats: cfg.FEATURE_IMAGE_PULL_STATS === true,
      immutableTags: cfg.FEATURE_IMMUTABLE_TAGS === true,
      resetChildManifestExpiration: cfg.RESET_CHILD_MANIFEST_EXPIRATION === true,
    });
    this.now = d.now ?? Date.now;
  }

  /** AutoPruneWorker.prune: up to batchSize tasks. */
  async pruneTasks(active: () => boolean, counts: PassCounts): Promise<void> {
    for (let i = 0; i < this.o.batchSize && active(); i++) {
      const task = await this.data.claimTask(this.o.taskIntervalMs, this.now());
      if (!task) return;
      counts.tasks++;
      try {
        const nsPolicies = await this.data.namespacePolicies(task.namespaceId);
        let repoPolicies: AutoPrunePolicy[] = [];
        if (nsPolicies.length === 0) {
          repoPolicies = await this.data.repositoryPoliciesOfNamespace(task.namespaceId);
          if (repoPolicies.length === 0) {
            this.d.log.info('autoprune task deleted: the namespace has no policies', { task: task.id, namespace_id: task.namespaceId });
            await this.data.deleteTask(task.id);
            continue;
          }
        }
        counts.pruned += await this.pruneNamespace(nsPolicies, task.namespaceId, true);
        // Only repository policies: by age first, then by count, each policy on its repository.
        for (const method of [CREATION_DATE, NUMBER_OF_TAGS]) {
          for (const p of repoPolicies.filter((x) => x.config.method === method)) {
            // Quay reads the repository (NORMAL state) by the policy's id and fails the task when it is gone.
            if ((await this.data.repositoryName(p.repositoryId!, true)) === null) throw new Error("'NoneType' object has no attribute 'name'");
            counts.pruned += await this.applyPolicy(p.config, p.repositoryId!, task.namespaceId);
          }
        }
        await this.data.setTaskStatus(task.id, 'success');
      } catch (e) {
        counts.failed++;
        const why = (e as Error).message;
        this.d.log.warn('autoprune task failed', { task: task.id, namespace_id: task.namespaceId, error: why });
        await this.data.setTaskStatus(task.id, `failure: ${why}`);
      }
    }
  }

  /** AutoPruneWorker._prune_registry: the default policy on every active namespace, without their repositories' own policies. */
  async pruneRegistry(policy: Readonly<Record<string, unknown>>, active: () => boolean): Promise<number> {
    const problem = policyProblem(policy);
    if (problem !== null) throw new Error(`DEFAULT_NAMESPACE_AUTOPRUNE_POLICY: ${problem}`);
    let pruned = 0;
    let after = 0;
    for (;;) {
      const page = await this.data.activeNamespaces(after, this.o.namespacePageLimit);
      for (const ns of page) {
        if (!active()) return pruned;
        pruned += await this.pruneNamespace([{ uuid: '', repositoryId: null, config: policy }], ns, false);
      }
      if (page.length < this.o.namespacePageLimit) return pruned;
      after = page[page.length - 1]!;
    }
  }

  /** execute_namespace_policies: each NORMAL repository of the namespace, page by page. */
  private async pruneNamespace(nsPolicies: readonly AutoPrunePolicy[], namespaceId: number, includeRepoPolicies: boolean): Promise<number> {
    if (nsPolicies.length === 0) return 0;
    let pruned = 0;
    let after = 0;
    for (;;) {
      const repos = await this.data.repositories(namespaceId, after, this.o.repositoryPageLimit);
      for (const repo of repos) {
        const policies = includeRepoPolicies ? [...nsPolicies, ...(await this.data.repositoryPolicies(repo.id))] : nsPolicies;
        for (const method of [CREATION_DATE, NUMBER_OF_TAGS])
          for (const p of policies) if (p.config.method === method) pruned += await this.applyPolicy(p.config, repo.id, namespaceId);
      }
      if (repos.length < this.o.repositoryPageLimit) return pruned;
      after = repos[repos.length - 1]!.id;
    }
  }

  /** execute_policy_on_repo: the tags the policy selects (every page), then each deleted. */
  private async applyPolicy(config: Readonly<Record<string, unknown>>, repositoryId: number, namespaceId: number): Promise<number> {
    const namespace = await this.data.namespaceName(namespaceId);
    if (namespace === null) throw new Error(`User with id does not exist: ${namespaceId}`);
    const repo = await this.data.repositoryName(repositoryId);
    if (repo === null) throw new Error("'NoneType' object has no attribute 'name'");
    const problem = policyProblem(config);
    if (problem !== null) throw new Error(problem);
    const pattern = patternOf(config);
    const names: string[] = [];
    const byCount = config.method === NUMBER_OF_TAGS;
    const keep = config.value === true ? 1 : Number(config.value);
    const ageMs = byCount ? 0 : parseTimedelta(config.value)!;
    try {
      for (let page = 1; ; page++) {
        const now = this.now();
        const got = byCount
          ? await this.data.tagsBeyondCount(repositoryId, keep, this.o.tagPageLimit, page, pattern, now)
          : await this.data.tagsOlderThan(repositoryId, ageMs, this.o.tagPageLimit, page, pattern, now);
        if (got.length === 0) break;
        names.push(...got);
      }
    } catch (e) {
      const what = byCount ? 'by number' : 'by creation date';
      throw new Error(`Error fetching repository tags ${what} for repository id: ${repositoryId} with error as: ${(e as Error).message}`);
    }
    return this.pruneTags(names, repositoryId, repo, namespaceId, namespace);
  }

  /** prune_tags: each tag deleted as Quay's tag model deletes it, with its action log row. */
  private async pruneTags(names: readonly string[], repositoryId: number, repo: string, namespaceId: number, namespace: string): Promise<number> {
    let pruned = 0;
    for (const name of names) {
      try {
        const now = this.now();
        const r = await this.data.deleteTag(repositoryId, name, now);
        if (r === 'immutable') {
          this.d.log.info('autoprune skipped an immutable tag', { namespace, repository: repo, tag: name });
          continue;
        }
        if (r !== 'deleted') continue;
        pruned++;
        await this.d.dal.logs.logAction({
          kind: 'autoprune_tag_delete',
          accountId: namespaceId,
          performerId: null,
          repositoryId,
          ip: null,
          metadataJson: pythonJsonDumps({ performer: 'autoprune worker', namespace, repo, tag: name }),
          nowMs: this.now(),
        });
      } catch (e) {
        throw new Error(`Error deleting tag with name: ${name} with repository id: ${repositoryId} with error as: ${(e as Error).message}`);
      }
    }
    return pruned;
  }
}

/** The program: the task pass every poll, and the registry-wide pass when its period has come. */
export function autoPruneProgram(d: AutoPruneDeps): WorkerProgram {
  const o = autoPruneOptions(d.quayConfig);
  const pruner = new AutoPruner(d, o);
  const now = d.now ?? Date.now;
  let registryDueMs = 0;
  return {
    program: 'autopruneworker',
    everyMs: o.pollMs,
    async run(active) {
      const counts: PassCounts = { tasks: 0, failed: 0, pruned: 0 };
      let registry: number | null = null;
      if (o.defaultPolicy !== null && now() >= registryDueMs) {
        registryDueMs = now() + o.defaultPolicyEveryMs;
        // Quay runs it as an operation of its own: its failure does not stop the task pass.
        registry = await pruner.pruneRegistry(o.defaultPolicy, active).catch((e: unknown) => {
          d.log.error('autoprune: the default namespace policy failed', { error: (e as Error).message });
          return null;
        });
      }
      await pruner.pruneTasks(active, counts);
      if (counts.tasks === 0 && registry === null) return null;
      return { tasks: counts.tasks, failed: counts.failed, tags_pruned: counts.pruned, ...(registry === null ? {} : { default_policy_tags_pruned: registry }) };
    },
  };
}
