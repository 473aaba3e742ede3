/** The task queue every retailflow worker polls (TEMPORAL_TASK_QUEUE overrides it per deployment). Pure: the contract and the config loader both use it. */
export const DEFAULT_TASK_QUEUE = 'retailflow';
