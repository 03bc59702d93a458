/** How the gateway reads the SDK's loosely typed values into plain records. */

/** A number the SDK may give as a number, a numeric string, '' or null: the number, or null. */
export const toNumber = (value: unknown): number | null => {
  if (value === null || value === undefined || value === '') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
};
