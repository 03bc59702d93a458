/** The ToolFailure a promise rejects with; anything else (or success) fails the test. */
import { ToolFailure } from '../../src/errors/tool-failure.js';

export async function failureOf(promise: Promise<unknown>): Promise<ToolFailure> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ToolFailure) return error;
    throw error;
  }
  throw new Error('expected a ToolFailure');
}
