/** The API's queue-producing writes against real Quay (api-producers-quay.test.ts) on PostgreSQL. */
process.env.API_CONTRACT_DB = 'postgres';
await import('./api-producers-quay.test.js');
