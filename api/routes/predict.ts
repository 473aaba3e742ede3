/**
 * Predictions of an order's total gross revenue from one of its lines, with the promoted model.
 * The seed's request `{"Quantity":3,"UnitPrice":12.0,"Hour":10,"DayOfWeek":2}` works as it is.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { featureVector, LoadedModel, PredictionInput } from '../../lib/model/serving';
import { COUNTRY, DAY_OF_WEEK, HOUR, MAX_ABS_QUANTITY, MAX_COUNTRY_CHARS, MAX_CUSTOMER_ID, MAX_UNIT_PRICE } from '../../lib/input-rules';

export const MAX_BATCH = 10_000;
/**
 * A full batch of realistic items (country names, customer ids) is 1-1.7 MB of JSON, over the
 * API-wide body limit meant for single predictions: the batch route allows 400 bytes an item.
 */
export const BATCH_BODY_LIMIT = MAX_BATCH * 400;

/**
 * Built from the shared input rules (lib/input-rules.ts) as a prediction needs them: a line the
 * stream or the ingest would refuse gets no prediction, and a prediction is of a sale (Quantity
 * at least 1, UnitPrice not negative). Ajv compiles `pattern` with the `u` flag, as COUNTRY needs.
 */
export const PredictRequest = Type.Object(
  {
    Quantity: Type.Integer({ minimum: 1, maximum: MAX_ABS_QUANTITY, description: 'Units on the line: a whole number, at least 1.' }),
    UnitPrice: Type.Number({ minimum: 0, maximum: MAX_UNIT_PRICE, description: 'Price per unit in pounds (non-negative).' }),
    Hour: Type.Integer(HOUR),
    DayOfWeek: Type.Integer({ ...DAY_OF_WEEK, description: '0 = Monday' }),
    Country: Type.Optional(Type.String({ pattern: COUNTRY.source, maxLength: MAX_COUNTRY_CHARS, description: 'A country name, as in the data. Default United Kingdom.' })),
    CustomerID: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: MAX_CUSTOMER_ID }), Type.Null()], { description: 'null = unknown customer; default known.' })),
  },
  { additionalProperties: false },
);

const PredictResponse = Type.Object({
  predicted_revenue: Type.Number(),
  status: Type.Literal('success'),
  model_version: Type.String(),
});

const BatchRequest = Type.Object(
  { items: Type.Array(PredictRequest, { minItems: 1, maxItems: MAX_BATCH }) },
  { additionalProperties: false },
);

const BatchResponse = Type.Object({
  predictions: Type.Array(Type.Number()),
  count: Type.Integer(),
  status: Type.Literal('success'),
  model_version: Type.String(),
});

const CurrentModelResponse = Type.Object({
  version: Type.String(),
  loaded_at: Type.String(),
  feature_names: Type.Array(Type.String()),
});

const errors = { 400: { $ref: 'ErrorResponse#' }, 503: { $ref: 'ErrorResponse#' } };

const predictRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  /** The model, or a 503 that says how to get one. */
  const modelOr503 = (reply: FastifyReply): LoadedModel | undefined => {
    const loaded = fastify.servingModel.current();
    if (!loaded) {
      void reply.code(503).send({ message: 'no promoted revenue model yet: run the trainingWorkflow (or "retailflow models promote <version>")' });
    }
    return loaded;
  };

  fastify.post('/predict', {
    schema: { tags: ['predict'], summary: 'Predict the order total from one line', body: PredictRequest, response: { 200: PredictResponse, ...errors } },
  }, async (request, reply) => {
    const loaded = modelOr503(reply);
    if (!loaded) return reply;
    fastify.predictionsCounter.inc({ route: '/predict' });
    const predicted = loaded.model.predictOne(featureVector(loaded.model, request.body as PredictionInput));
    return { predicted_revenue: round2(predicted), status: 'success' as const, model_version: loaded.version };
  });

  fastify.post('/predict/batch', {
    bodyLimit: BATCH_BODY_LIMIT,
    schema: { tags: ['predict'], summary: `Predict up to ${MAX_BATCH} lines at once`, body: BatchRequest, response: { 200: BatchResponse, ...errors } },
  }, async (request, reply) => {
    const loaded = modelOr503(reply);
    if (!loaded) return reply;
    const items = request.body.items as PredictionInput[];
    const d = loaded.model.featureNames.length;
    const features = new Float64Array(items.length * d);
    items.forEach((item, i) => featureVector(loaded.model, item, features.subarray(i * d, (i + 1) * d)));
    const predictions = Array.from(loaded.model.predictMany(features, items.length), round2);
    fastify.predictionsCounter.inc({ route: '/predict/batch' }, items.length);
    return { predictions, count: items.length, status: 'success' as const, model_version: loaded.version };
  });

  fastify.get('/models/current', {
    schema: { tags: ['models'], summary: 'The model being served', response: { 200: CurrentModelResponse, 503: { $ref: 'ErrorResponse#' } } },
  }, async (_request, reply) => {
    const loaded = modelOr503(reply);
    if (!loaded) return reply;
    return { version: loaded.version, loaded_at: loaded.loadedAt.toISOString(), feature_names: loaded.model.featureNames };
  });
};

export type PredictRequest = Static<typeof PredictRequest>;
export default predictRoutes;

const round2 = (x: number): number => Math.round(x * 100) / 100;
