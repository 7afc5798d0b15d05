import fs from 'node:fs';
import { Session } from 'node:inspector/promises';

/**
 * CPU profile of one phase of a benchmark, when `BENCH_CPU_PROFILE` names a file: the setup before
 * and the baseline after stay out of it, so the profile shows only the measured requests.
 */
export async function profiled<T>(phase: string, run: () => Promise<T>): Promise<T> {
  const file = process.env.BENCH_CPU_PROFILE;
  if (!file) return run();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await run();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    fs.writeFileSync(file.replace(/(\.cpuprofile)?$/, `.${phase}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}
