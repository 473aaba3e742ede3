/**
 * A Temporal dev server of the test file's own (no other service), and helpers to run workflows
 * on it with mocked activities (test/support/mock-activities.ts).
 *
 * Runtime: the full suite's root hook has already called Runtime.install; in a unit-only run
 * (RETAILFLOW_TEST_SERVICES=none) nothing has, and the SDK creates its default Runtime on first use.
 * Neither path calls Runtime.install here.
 */
import * as fs from 'node:fs';
import { WorkflowFailedError, WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { SEARCH_ATTRIBUTE_KEYS } from '../../lib/temporal/search-attributes';
import { toolPath } from '../../lib/tools';
import type { MockActivities } from './mock-activities';

export type History = temporal.api.history.v1.IHistory;

/**
 * History files are `JSON.stringify(await handle.fetchHistory())`: protobufjs's JSON form (int64 as
 * strings, Timestamps as {seconds, nanos}, bytes as base64), which `History.fromObject` reads back
 * exactly. Not the proto3 JSON of `temporal workflow show -o json` or the Web UI's download, which
 * is what `historyFromJSON` (and so Worker.runReplayHistories, for histories whose eventIds are
 * strings) expects: it rejects `{seconds, nanos}` timestamps, and in this install it throws "type
 * must be a Type" for any input (@temporalio/common and @temporalio/proto each carry their own
 * protobufjs 8.8.1). A History object (eventIds as Long) skips that conversion.
 */
export function writeHistoryFile(file: string, history: History): void {
  fs.writeFileSync(file, `${JSON.stringify(history, null, 1)}\n`);
}

export function readHistoryFile(file: string): temporal.api.history.v1.History {
  return temporal.api.history.v1.History.fromObject(JSON.parse(fs.readFileSync(file, 'utf8')));
}

/** The workflow type a history is of (from its first event). */
export function workflowTypeOf(history: History): string | undefined {
  return history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? undefined;
}

/**
 * The local dev server (the time-skipping test server cannot be downloaded here), on a port the SDK
 * picks free. Another process on the machine can take that port before the server binds it: then
 * start again (at most 3 tries).
 */
export async function createLocalTestEnv(): Promise<TestWorkflowEnvironment> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await TestWorkflowEnvironment.createLocal({
        server: {
          executable: { type: 'existing-path', path: toolPath('temporal') },
          ip: '127.0.0.1',
          searchAttributes: SEARCH_ATTRIBUTE_KEYS,
          extraArgs: ['--log-level', 'error'],
        },
      });
    } catch (err) {
      if (attempt >= 3) throw err;
      console.warn(`[workflow-test-env] dev server did not start (try ${attempt}), starting again: ${String(err).split('\n')[0]}`);
    }
  }
}

let queues = 0;

/** A task queue no other test uses. */
export function uniqueTaskQueue(name: string): string {
  return `${name}-${process.pid}-${++queues}-${Date.now().toString(36)}`;
}

const quiet = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: console.error };
let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** workflows/ of this checkout, bundled once per process (the logic and the replay tests share it). */
export function testWorkflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: quiet });
  return bundle;
}

/**
 * One worker for a whole test file, on its own task queue, whose activities are whatever mocks the
 * current test set with `use()`: creating and shutting down a worker per test costs about a second.
 */
export interface SharedMockWorker {
  taskQueue: string;
  use(mocks: MockActivities): MockActivities;
  stop(): Promise<void>;
}

export async function startSharedMockWorker(
  env: TestWorkflowEnvironment,
  bundle: WorkflowBundleWithSourceMap,
  activityNames: string[],
): Promise<SharedMockWorker> {
  let current: MockActivities | undefined;
  const activities = Object.fromEntries(activityNames.map((name) => [name, (input: unknown) => {
    const fn = current?.activities[name];
    if (!fn) throw new Error(`no mock for activity ${name}`);
    return fn(input);
  }]));
  const taskQueue = uniqueTaskQueue('mocked');
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities,
    maxConcurrentActivityTaskExecutions: 32,
  });
  const running = worker.run();
  return {
    taskQueue,
    use(mocks) {
      current = mocks;
      return mocks;
    },
    async stop() {
      worker.shutdown();
      await running;
    },
  };
}

/** The workflow's failure; fails the test when the workflow completes. */
export async function failureOf(handle: WorkflowHandle): Promise<WorkflowFailedError> {
  try {
    await handle.result();
  } catch (err) {
    if (err instanceof WorkflowFailedError) return err;
    throw err;
  }
  throw new Error(`workflow ${handle.workflowId} completed, expected it to fail`);
}

/** The chain of causes below `err`, outermost first. */
export function causes(err: unknown): Error[] {
  const chain: Error[] = [];
  let e: unknown = err;
  while (e instanceof Error) {
    chain.push(e);
    e = e.cause;
  }
  return chain;
}

function decodePayload(p: temporal.api.common.v1.IPayload | null | undefined): unknown {
  return p?.data ? JSON.parse(Buffer.from(p.data).toString('utf8')) : undefined;
}

/** Every value a run upserted into the search attribute `name`, in order (e.g. the PipelineStage steps). */
export function upsertedValues(history: History, name: string): unknown[] {
  return (history.events ?? []).flatMap((e) => {
    const fields = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
    return fields && name in fields ? [decodePayload(fields[name])] : [];
  });
}

/**
 * Activity types in the order the run scheduled them (retries are not new schedules): activity
 * tasks, and local activities, which a run records as markers once they end.
 */
export function scheduledActivities(history: History): string[] {
  return activityAttempts(history).map((a) => a.type);
}

/**
 * Each activity the run scheduled, in order, with the attempt it ended on: from the started event
 * of an activity task, from the marker of a local activity.
 */
export function activityAttempts(history: History): { type: string; attempt: number }[] {
  const events = history.events ?? [];
  const startedAttempt = new Map<string, number>();
  for (const e of events) {
    const started = e.activityTaskStartedEventAttributes;
    if (started) startedAttempt.set(String(started.scheduledEventId), started.attempt ?? 0);
  }
  return events.flatMap((e) => {
    const type = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (type) return [{ type, attempt: startedAttempt.get(String(e.eventId)) ?? 0 }];
    const local = localActivityMarker(e);
    return local?.activity_type ? [{ type: local.activity_type, attempt: local.attempt ?? 0 }] : [];
  });
}

function localActivityMarker(e: temporal.api.history.v1.IHistoryEvent): { activity_type?: string; attempt?: number } | undefined {
  const marker = e.markerRecordedEventAttributes;
  if (marker?.markerName !== 'core_local_activity') return undefined;
  return decodePayload(marker.details?.data?.payloads?.[0]) as { activity_type?: string; attempt?: number } | undefined;
}

/** The run that `runId` continued as, or undefined when it did not continue as new. */
export function continuedAsNewRunId(history: History): string | undefined {
  const last = history.events?.[history.events.length - 1];
  return last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
}
