/**
 * Repository names as Quay reads them from a /v2 path (util/names.py):
 * `ns/name` splits at the first slash (the rest, slashes included, is the
 * repository name: FEATURE_EXTENDED_REPOSITORY_NAMES); a single segment is a
 * repository in the library namespace.
 */
import { DomainError } from './errors.js';

/** Quay's REPOSITORY_NAME_EXTENDED_REGEX: ≤ 255 characters, segments start with [a-z0-9]. */
const REPOSITORY_NAME_RE = /^(?=.{0,255}$)[a-z0-9][.a-z0-9_-]*(?:\/[a-z0-9][.a-z0-9_-]*)*$/;
/** Quay's username/namespace shape: lowercase alphanumerics separated by single `.`, `_` or `-`, 2–255 long. */
const NAMESPACE_RE = /^(?=.{2,255}$)[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
/** Quay's FULL_TAG_PATTERN (ASCII \w). */
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export interface RepoName {
  readonly namespace: string;
  readonly name: string;
}

export function parseRepositoryPath(repository: string, libraryNamespace: string): RepoName {
  const trimmed = repository.replace(/\/+$/, '');
  const slash = trimmed.indexOf('/');
  const namespace = slash < 0 ? libraryNamespace : trimmed.slice(0, slash);
  const name = slash < 0 ? trimmed : trimmed.slice(slash + 1);
  if (!NAMESPACE_RE.test(namespace)) throw new DomainError('NAME_INVALID', `invalid namespace ${JSON.stringify(namespace)}`);
  if (!REPOSITORY_NAME_RE.test(name)) throw new DomainError('NAME_INVALID', `invalid repository name ${JSON.stringify(name)}`);
  return { namespace, name };
}

/** The repository part of a name (after the namespace) fits Quay's REPOSITORY_NAME_EXTENDED_REGEX. */
export function isValidRepositoryName(name: string): boolean {
  return REPOSITORY_NAME_RE.test(name);
}

export function isValidNamespace(name: string): boolean {
  return NAMESPACE_RE.test(name);
}

export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

export function fullName(r: RepoName): string {
  return `${r.namespace}/${r.name}`;
}
