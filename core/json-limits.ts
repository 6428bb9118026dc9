/**
 * How deep JSON may nest, for every party and every parser of Semper's (RFC 8259 §9 lets a parser
 * limit it): the canonicaliser (core/encoding), zod's json() (core/zod-mini.ts) and the servers'
 * body reader (server/http/json.ts). Statements nest a few levels (a statement in a body in a
 * request: about a dozen; the deepest message, a TTP request with packages four deep, stays under
 * 40); recursion through a value nested thousands deep, or a cyclic one, would exhaust the stack.
 * Its own module, free of imports, so the worker's start script can carry zod without the encoders.
 */
export const MAX_JSON_DEPTH = 64;
