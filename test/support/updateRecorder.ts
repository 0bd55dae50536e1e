/**
 * A stand-in for a client's `executeUpdate` that grants every request after a short pause and records how many
 * were in flight at once (tests of src/activities/updateBudget.ts's shares).
 */
export function recordingUpdates(pauseMs = 30) {
  let active = 0;
  let most = 0;
  const executeUpdate = async (_u: unknown, o: { args: [{ requestId: string; paths: string[] }] }) => {
    active++;
    most = Math.max(most, active);
    await new Promise((r) => setTimeout(r, pauseMs));
    active--;
    return { grant: { requestId: o.args[0].requestId, paths: o.args[0].paths } };
  };
  return { executeUpdate, most: () => most };
}
