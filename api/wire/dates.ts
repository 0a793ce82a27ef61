/** Dates as Quay writes them, shared with the workers: the implementation is domain/quay-dates.ts. */
export * from '../../domain/quay-dates.js';
