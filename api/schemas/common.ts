/** Schemas shared by several routes. */
import { Type, type Static } from '@sinclair/typebox';

/** Every error body: validation errors, deliberate 4xx, 404 and the masked 500. */
export const ErrorResponse = Type.Object({ message: Type.String() }, { $id: 'ErrorResponse' });
export type ErrorResponse = Static<typeof ErrorResponse>;
