import { storeScenarios } from './svc-documents-store-scenarios.ts';

// The document store scenarios (svc-documents-store-scenarios.ts) on the file store.
storeScenarios('file');
