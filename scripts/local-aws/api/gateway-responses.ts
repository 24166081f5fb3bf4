/**
 * The answers API Gateway gives itself (no route, no token, authorizer failure, timeouts...),
 * rendered as it renders them: the template's gateway response for the type, else its
 * DEFAULT_4XX / DEFAULT_5XX, else API Gateway's own `{"message": ...}` body.
 */

export type ResponseType =
  | 'ACCESS_DENIED'
  | 'API_CONFIGURATION_ERROR'
  | 'AUTHORIZER_CONFIGURATION_ERROR'
  | 'AUTHORIZER_FAILURE'
  | 'BAD_REQUEST_BODY'
  | 'INTEGRATION_FAILURE'
  | 'INTEGRATION_TIMEOUT'
  | 'MISSING_AUTHENTICATION_TOKEN'
  | 'REQUEST_TOO_LARGE'
  | 'THROTTLED'
  | 'UNAUTHORIZED'
  | 'UNSUPPORTED_MEDIA_TYPE'
  /** A Lambda proxy integration that failed or answered malformed: 502, no type of its own. */
  | 'LAMBDA_ERROR';

/** API Gateway's default status and message for each type. */
const DEFAULTS: Record<ResponseType, { status: number; message: string | null }> = {
  ACCESS_DENIED: { status: 403, message: 'User is not authorized to access this resource with an explicit deny' },
  API_CONFIGURATION_ERROR: { status: 500, message: 'Internal server error' },
  AUTHORIZER_CONFIGURATION_ERROR: { status: 500, message: null },
  AUTHORIZER_FAILURE: { status: 500, message: null },
  BAD_REQUEST_BODY: { status: 400, message: 'Invalid request body' },
  INTEGRATION_FAILURE: { status: 504, message: 'Internal server error' },
  INTEGRATION_TIMEOUT: { status: 504, message: 'Endpoint request timed out' },
  MISSING_AUTHENTICATION_TOKEN: { status: 403, message: 'Missing Authentication Token' },
  REQUEST_TOO_LARGE: { status: 413, message: 'Request Too Long' },
  THROTTLED: { status: 429, message: 'Too Many Requests' },
  UNAUTHORIZED: { status: 401, message: 'Unauthorized' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Unsupported Media Type' },
  LAMBDA_ERROR: { status: 502, message: 'Internal server error' },
};

export interface GatewayResponseDefinition {
  statusCode: number | undefined;
  headers: Record<string, string>;
  templates: Record<string, string>;
}

export interface RenderedResponse {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

/** `$context.x.y` in a gateway response template, as API Gateway substitutes it. */
function substitute(template: string, context: Record<string, string>): string {
  return template.replace(/\$(?:\{context\.([A-Za-z0-9_.]+)\}|context\.([A-Za-z0-9_.]+))/g, (_match, braced: string | undefined, bare: string | undefined) => context[braced ?? bare ?? ''] ?? '');
}

export function renderGatewayResponse(
  type: ResponseType,
  definitions: ReadonlyMap<string, GatewayResponseDefinition>,
  requestId: string,
): RenderedResponse {
  const { status: defaultStatus, message } = DEFAULTS[type];
  const definition = definitions.get(type) ?? definitions.get(defaultStatus >= 500 ? 'DEFAULT_5XX' : 'DEFAULT_4XX');
  const status = definition?.statusCode ?? defaultStatus;
  const context: Record<string, string> = {
    'error.message': message ?? '',
    'error.messageString': JSON.stringify(message),
    'error.responseType': type === 'LAMBDA_ERROR' ? 'DEFAULT_5XX' : type,
    requestId,
  };
  const template = definition?.templates['application/json'];
  return {
    status,
    headers: { 'content-type': 'application/json', 'x-amzn-requestid': requestId, 'x-amzn-errortype': type, ...(definition?.headers ?? {}) },
    body: template === undefined ? JSON.stringify({ message }) : substitute(template, context),
  };
}
