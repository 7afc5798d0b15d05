import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Test data made by others, beside the repository (see ../shared/data/SOURCES.md). */
export const SHARED_DATA = path.resolve(REPO_ROOT, '../shared/data');
