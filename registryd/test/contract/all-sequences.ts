/**
 * Every contract sequence, in the order they run. Each declares the oracles
 * it means something against (session.ts `Sequence.oracles`); the runner
 * (runner.ts `appliesTo`) picks them.
 */
import type { Sequence } from './session.js';
import { SEQUENCES } from './sequences.js';
import { ERROR_SEQUENCES } from './sequences-errors.js';
import { PAGE_SEQUENCES } from './sequences-pages.js';
import { AUTH_SEQUENCES } from './sequences-auth.js';
import { CROSS_SEQUENCES } from './sequences-cross.js';

export const ALL_SEQUENCES: readonly Sequence[] = [...SEQUENCES, ...ERROR_SEQUENCES, ...PAGE_SEQUENCES, ...AUTH_SEQUENCES, ...CROSS_SEQUENCES];
