/** The core /api/v1 contract (api-contract-core.test.ts) on PostgreSQL: the same requests, Quay's production database. */
process.env.API_CONTRACT_DB = 'postgres';
await import('./api-contract-core.test.js');
