/**
 * Quay's local avatars (avatars/avatars.py, AVATAR_KIND local): the hash is
 * the SHA-256 of the lower-cased e-mail (or the name), and the colour one of
 * Quay's fixed palette chosen from the hash.
 */
import { createHash } from 'node:crypto';

export interface AvatarData {
  readonly name: string;
  readonly hash: string;
  readonly color: string;
  readonly kind: string;
}

/** Quay's AVATAR_COLORS default (config.py). */
export const AVATAR_COLORS: readonly string[] = [
  '#969696',
  '#aec7e8',
  '#ff7f0e',
  '#ffbb78',
  '#2ca02c',
  '#98df8a',
  '#d62728',
  '#ff9896',
  '#9467bd',
  '#c5b0d5',
  '#8c564b',
  '#c49c94',
  '#e377c2',
  '#f7b6d2',
  '#7f7f7f',
  '#c7c7c7',
  '#bcbd22',
  '#1f77b4',
  '#17becf',
  '#9edae5',
  '#393b79',
  '#5254a3',
  '#6b6ecf',
  '#9c9ede',
  '#9ecae1',
  '#31a354',
  '#b5cf6b',
  '#a1d99b',
  '#8c6d31',
  '#ad494a',
  '#e7ba52',
  '#a55194',
];

/** get_data(name, email_or_id, kind): the hash of the stripped, lower-cased e-mail (or the name when there is none). */
export function avatar(name: string, emailOrId: string | null, kind: string, colors: readonly string[] = AVATAR_COLORS): AvatarData {
  const basis = (emailOrId || name).trim().toLowerCase();
  const hash = createHash('sha256').update(basis, 'utf8').digest('hex');
  const width = Math.ceil(Math.log(colors.length) / Math.log(16));
  const color = colors[parseInt(hash.slice(0, width), 16) % colors.length]!;
  return { name, hash, color, kind };
}

interface AvatarSubject {
  readonly username: string;
  readonly email: string | null;
  readonly robot: boolean;
}

/** get_data_for_user: kind `robot` or `user` (also when Quay passes an organisation to it). */
export const userAvatar = (u: AvatarSubject): AvatarData => avatar(u.username, u.email, u.robot ? 'robot' : 'user');

/** get_data_for_org: kind `org`. */
export const orgAvatar = (u: AvatarSubject): AvatarData => avatar(u.username, u.email, 'org');

/** A team's avatar (get_data_for_team): hashed by its name. */
export const teamAvatar = (name: string): AvatarData => avatar(name, name, 'team');
