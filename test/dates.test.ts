import { strict as assert } from 'node:assert';
import { assertIsoDate } from '../lib/dates';
import { InvalidDateError } from '../lib/errors';

describe('calendar dates', () => {
  it('accepts real days and rejects malformed, rolled-over and impossible ones with InvalidDateError', () => {
    assert.doesNotThrow(() => assertIsoDate('2011-12-09'));
    assert.doesNotThrow(() => assertIsoDate('2012-02-29'));
    for (const bad of ['2011-02-30', '2011-13-01', '2011-00-10', '2011-12-9', '09/12/2011', '', '2011-02-29']) {
      assert.throws(() => assertIsoDate(bad), (err: Error) => err instanceof InvalidDateError && err.message.includes(`"${bad}"`), bad);
    }
  });
});
