/**
 * Whether a missing server must fail the run (`KEEPSTATE_REQUIRE_SERVICES=1`, as `.ci/run` sets)
 * instead of skipping the suites that need it.
 */
export const servicesRequired = process.env.KEEPSTATE_REQUIRE_SERVICES === '1';

/**
 * Probes a server a suite needs. Returns `false` when it answers (run the suite); otherwise the
 * reason, to pass as a suite's `skip` option, after printing a loud banner that says how to
 * start it.
 *
 * @param name - what the server is, e.g. 'PostgreSQL at 127.0.0.1:5432'
 * @param probe - resolves when the server answers; bound it in time
 * @param howToStart - the command or step that provides the server
 * @throws when `KEEPSTATE_REQUIRE_SERVICES=1` and the server does not answer
 */
export async function needService(
  name: string,
  probe: () => Promise<unknown>,
  howToStart: string,
): Promise<string | false> {
  try {
    await probe();
    return false;
  } catch (error) {
    const reason = `${name} is not available (${(error as Error).message}); ${howToStart}`;
    if (servicesRequired) throw new Error(`KEEPSTATE_REQUIRE_SERVICES=1: ${reason}`);
    console.warn(`\n${'!'.repeat(78)}\n!! SKIPPED: ${reason}\n${'!'.repeat(78)}\n`);
    return reason;
  }
}
