/**
 * What a registered package is filed under, once its app description has been read:
 * the request's `version` when it has one (the platform logs, and so do we, when the package
 * says otherwise), else the package's app version, checked by the same rule as the field; and
 * whether a description for another application is accepted (REQUIRE_MATCHING_APP_CODE).
 */
import type { AppDescription } from '../archive/app-description';
import { quote } from '../archive/archive-safety';
import { InvalidPackageFormatError, ValidationError } from '../core/errors';
import { isValidVersion, VERSION_RULE } from '../core/package-request';
import type { Logger } from '../core/logger';

/** Where each spec keeps the version, for a detail that tells the client what to fix. */
const VERSION_FIELD: Record<number, string> = { 3: 'appVersion', 2: 'app_version', 1: 'version' };

function versionRequired(reason: string): ValidationError {
  return new ValidationError(`Invalid request: version.`, { fieldsDetail: { version: [`This field is required: ${reason}`] } });
}

export function resolveVersion(requested: string | undefined, description: AppDescription | undefined, log: Logger): string {
  const packaged = description?.appVersion;
  if (requested) {
    if (packaged !== undefined && packaged !== requested) {
      log.warn('the request names another version than the package\'s app description; the request wins', { app_version: packaged });
    }
    return requested;
  }
  if (!description) {
    throw versionRequired('the package has no app description (app_desc.yaml or app_desc.yml) to take a version from either.');
  }
  if (packaged === undefined) {
    const field = description.specVersion === undefined ? undefined : VERSION_FIELD[description.specVersion];
    throw versionRequired(
      `the package's app description ${quote(description.path)} gives no version either` +
        (field ? ` (spec version ${description.specVersion} keeps it in "${field}").` : ' (it declares no spec version this service knows).'),
    );
  }
  if (!isValidVersion(packaged)) {
    throw new ValidationError(`Invalid request: version.`, { fieldsDetail: {
      version: [`The package's app description ${quote(description.path)} gives the version ${quote(packaged)}, which is not a valid version: ${VERSION_RULE} Send "version" to choose one.`],
    } });
  }
  return packaged;
}

/**
 * The original platform records a description for another application and goes on; with
 * `requireMatching` such a package is refused (422: the package, not the request, is at fault).
 */
export function checkAppCode(code: string, description: AppDescription | undefined, requireMatching: boolean, log: Logger): void {
  const described = description?.appCode;
  if (described === undefined || described === code) return;
  if (requireMatching) {
    throw new InvalidPackageFormatError(
      `The app description ${quote(description?.path ?? '')} is for application ${quote(described)}, not ${quote(code)}.`,
    );
  }
  log.warn('the package\'s app description names another application; recorded as it is', { app_code: described });
}
