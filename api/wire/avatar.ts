/** Quay's avatars, shared with the workers: the implementation is domain/avatar.ts. */
export * from '../../domain/avatar.js';
