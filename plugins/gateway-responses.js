'use strict';
/**
 * Serverless plugin: API Gateway's own answers in the contract's error shape (DESIGN §2).
 *
 * For each entry of `custom.gatewayResponses` (response type -> status, code, detail) it adds an
 * AWS::ApiGateway::GatewayResponse whose body is `{"code", "detail"}` and whose
 * `bkapi-error-code` header repeats the code; `detail: null` takes API Gateway's own message.
 * Then it makes the API deployment depend on every gateway response of the template, so a deploy
 * never goes live while API Gateway still answers with its default `{"message": ...}` bodies.
 * Plain JavaScript: the framework loads plugins with require().
 */
class GatewayResponses {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      'after:aws:package:finalize:mergeCustomProviderResources': () => this.addResponses(),
    };
  }

  addResponses() {
    const service = this.serverless.service;
    const resources = service.provider.compiledCloudFormationTemplate.Resources;
    const wanted = (service.custom && service.custom.gatewayResponses) || {};
    for (const [type, response] of Object.entries(wanted)) {
      const detail = response.detail === null || response.detail === undefined ? '$context.error.messageString' : JSON.stringify(response.detail);
      const logicalId = `GatewayResponse${type
        .toLowerCase()
        .split('_')
        .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
        .join('')}`;
      resources[logicalId] = {
        Type: 'AWS::ApiGateway::GatewayResponse',
        Properties: {
          RestApiId: { Ref: 'ApiGatewayRestApi' },
          ResponseType: type,
          // DEFAULT_4XX/5XX keep the status of the error they stand for: a status there would apply to all.
          ...(response.status === undefined ? {} : { StatusCode: String(response.status) }),
          ResponseParameters: { 'gatewayresponse.header.bkapi-error-code': `'${response.code}'` },
          ResponseTemplates: { 'application/json': `{"code": "${response.code}", "detail": ${detail}}` },
        },
      };
    }
    const responses = Object.keys(resources).filter((id) => resources[id].Type === 'AWS::ApiGateway::GatewayResponse');
    for (const resource of Object.values(resources)) {
      if (resource.Type !== 'AWS::ApiGateway::Deployment') continue;
      const dependsOn = [].concat(resource.DependsOn || []);
      resource.DependsOn = [...dependsOn, ...responses.filter((id) => !dependsOn.includes(id))];
    }
  }
}

module.exports = GatewayResponses;
