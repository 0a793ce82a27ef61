/** The /api/v1 sweep (api-sweep.test.ts) on PostgreSQL: the same rows and identities, Quay's production database. */
process.env.API_CONTRACT_DB = 'postgres';
await import('./api-sweep.test.js');
