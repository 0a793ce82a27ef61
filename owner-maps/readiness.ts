/**
 * The readiness contract between the switchboard and the go runtime: the go
 * runtime answers GET WELL_KNOWN_PATH with the capabilities it implements
 * (quay/capabilities.ts builds the document), and the switchboard polls it
 * (switchboard/proxy/readiness.ts) before it lets a capability go to go.
 */
export const WELL_KNOWN_PATH = '/.well-known/switchboard';

/** The document's `contract`: bumped when a field changes meaning. */
export const CONTRACT_VERSION = 1;
