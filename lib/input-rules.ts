/**
 * The input rules that the prediction API and the stream share (issue: proof), so a line one
 * of them refuses is not accepted by the other: the API's request schema and the stream's
 * validator read these constants. Ingest keeps the file's lines as they are (cancellations
 * carry negative quantities) and quarantines only what it cannot parse.
 */

/** |Quantity| above this is absurd (the data's largest is 80,995). */
export const MAX_ABS_QUANTITY = 100_000;
/** |UnitPrice| above this is absurd (the data ranges from -11,062.06 to 38,970). */
export const MAX_UNIT_PRICE = 100_000;
/** Invoice years outside [MIN_YEAR, MAX_YEAR] are absurd. */
export const MIN_YEAR = 2000;
export const MAX_YEAR = 2100;

/**
 * A quantity a line can carry: a non-zero integer within the bound. A prediction is of a sale,
 * so it also needs the quantity positive (`isSaleQuantity`).
 */
export function isLineQuantity(q: unknown): q is number {
  return typeof q === 'number' && Number.isInteger(q) && q !== 0 && Math.abs(q) <= MAX_ABS_QUANTITY;
}

export function isSaleQuantity(q: unknown): q is number {
  return isLineQuantity(q) && q > 0;
}
