/**
 * The HTTP side of a request's validation: the path parameters and form fields of a link request
 * to its fields, by the rules of `lib/core/package-request.ts` (which the worker's event obeys
 * too), and the path of the read routes. One ValidationError lists every problem in `fields_detail`.
 */
import { ValidationError, type FieldsDetail } from '../core/errors';
import { isValidName, isValidVersion, NAME_RULE, validatePackageFields, VERSION_RULE, type PackageFields } from '../core/package-request';
import type { FormFields } from './form-parser';

export function validateLinkRequest(pathParameters: Record<string, string>, fields: FormFields): PackageFields {
  return validatePackageFields({ ...fields, code: pathParameters.code, module_name: pathParameters.module_name });
}

export interface ModulePath {
  code: string;
  module: string;
}

export interface VersionPath extends ModulePath {
  version: string;
}

/**
 * The path of the read routes (`.../modules/{module_name}/source_package/[{version}/]`), by the
 * same rules as a link request's path and `version` field; one ValidationError for every problem.
 */
export function validatePackagePath(pathParameters: Record<string, string>, withVersion: false): ModulePath;
export function validatePackagePath(pathParameters: Record<string, string>, withVersion: true): VersionPath;
export function validatePackagePath(pathParameters: Record<string, string>, withVersion: boolean): ModulePath | VersionPath {
  const problems: FieldsDetail = {};
  const code = pathParameters.code ?? '';
  if (!isValidName(code)) problems.code = [NAME_RULE];
  const module = pathParameters.module_name ?? '';
  if (!isValidName(module)) problems.module_name = [NAME_RULE];
  const version = (pathParameters.version ?? '').trim();
  if (withVersion && !version) problems.version = ['This field is required.'];
  else if (withVersion && !isValidVersion(version)) problems.version = [VERSION_RULE];
  if (Object.keys(problems).length > 0) {
    throw new ValidationError(`Invalid request: ${Object.keys(problems).join(', ')}.`, { fieldsDetail: problems });
  }
  return withVersion ? { code, module, version } : { code, module };
}
