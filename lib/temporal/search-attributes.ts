/**
 * Custom search attributes used by the workflows. The typed keys go into `typedSearchAttributes`
 * and `upsertSearchAttributes`; the list registers them on the dev server
 * (`temporal server start-dev --search-attribute Name=Type`) and on test servers.
 *
 * Safe to import from workflow code: @temporalio/common has no Node dependencies.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** `SearchAttributeKey` is not re-exported from the package root in 1.24. */
export type SearchAttributeKey = ReturnType<typeof defineSearchAttributeKey>;

/** The business date a run reports on (UTC midnight of the report day). */
export const AnalyticsDate = defineSearchAttributeKey('AnalyticsDate', SearchAttributeType.DATETIME);

/** The pipeline step a workflow is in, e.g. "extract", "aggregate", "publish". */
export const PipelineStage = defineSearchAttributeKey('PipelineStage', SearchAttributeType.KEYWORD);

/** Set by Temporal on every run a Schedule starts: its nominal (not actual) start time. */
export const ScheduledStartTime = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

/** Type names as the Temporal CLI spells them in `--search-attribute Name=Type`. */
export type CliSearchAttributeType = 'Text' | 'Keyword' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

export interface SearchAttributeDefinition {
  name: string;
  type: CliSearchAttributeType;
}

const CLI_TYPE_NAMES: Record<SearchAttributeType, CliSearchAttributeType> = {
  TEXT: 'Text',
  KEYWORD: 'Keyword',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

/** The typed keys, e.g. for `TestWorkflowEnvironment.createLocal({ server: { searchAttributes } })`. */
export const SEARCH_ATTRIBUTE_KEYS: SearchAttributeKey[] = [AnalyticsDate, PipelineStage];

export const CUSTOM_SEARCH_ATTRIBUTES: readonly SearchAttributeDefinition[] = SEARCH_ATTRIBUTE_KEYS.map((key) => ({
  name: key.name,
  type: CLI_TYPE_NAMES[key.type],
}));

/** `--search-attribute Name=Type` pairs for `temporal server start-dev`. */
export function searchAttributeCliArgs(): string[] {
  return CUSTOM_SEARCH_ATTRIBUTES.flatMap(({ name, type }) => ['--search-attribute', `${name}=${type}`]);
}
