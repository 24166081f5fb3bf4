'use strict';
/**
 * Serverless plugin: what the framework does not put in the template for a REST API.
 *
 * 1. API Gateway's own answers in the contract's error shape (docs/api.md#answers-api-gateway-gives-itself): for each entry of
 *    `custom.gatewayResponses` (response type -> status, code, detail) an
 *    AWS::ApiGateway::GatewayResponse whose body is `{"code", "detail"}` and whose
 *    `bkapi-error-code` header repeats the code; `detail: null` takes API Gateway's message.
 * 2. The stage as a resource of its own (`ApiGatewayStage`), with `custom.apiStage`'s X-Ray
 *    tracing, JSON access log, execution logging, throttling and detailed metrics. The framework
 *    would set these with API calls after the deploy, outside the template; here the template
 *    says them, so they are reviewed, tested and rolled back with it.
 * 3. Ordering: the deployment depends on every gateway response (a deploy never goes live with
 *    API Gateway's default `{"message": ...}` bodies), and API mappings on the stage.
 *
 * Plain JavaScript: the framework loads plugins with require().
 */
class ApiGatewayExtras {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      'after:aws:package:finalize:mergeCustomProviderResources': () => this.extend(),
    };
  }

  extend() {
    const service = this.serverless.service;
    const resources = service.provider.compiledCloudFormationTemplate.Resources;
    const custom = service.custom || {};
    this.addGatewayResponses(resources, custom.gatewayResponses || {});
    const deploymentId = Object.keys(resources).find((id) => resources[id].Type === 'AWS::ApiGateway::Deployment');
    if (!deploymentId) return;
    if (custom.apiStage) this.addStage(resources, deploymentId, custom.apiStage);
    const responses = Object.keys(resources).filter((id) => resources[id].Type === 'AWS::ApiGateway::GatewayResponse');
    const deployment = resources[deploymentId];
    const dependsOn = [].concat(deployment.DependsOn || []);
    deployment.DependsOn = [...dependsOn, ...responses.filter((id) => !dependsOn.includes(id))];
    for (const resource of Object.values(resources)) {
      if (resource.Type === 'AWS::ApiGatewayV2::ApiMapping' || resource.Type === 'AWS::ApiGateway::BasePathMapping') {
        resource.DependsOn = [...new Set([].concat(resource.DependsOn || [], custom.apiStage ? ['ApiGatewayStage'] : [deploymentId]))];
      }
    }
  }

  addGatewayResponses(resources, wanted) {
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
  }

  addStage(resources, deploymentId, settings) {
    const deployment = resources[deploymentId];
    const stageName = deployment.Properties.StageName;
    // The stage is its own resource now; a deployment naming it too would create it twice.
    delete deployment.Properties.StageName;
    const routeMetrics = (settings.detailedMetricsFor || []).map((route) => ({
      ResourcePath: `/${route.path.replace(/\//g, '~1')}`,
      HttpMethod: route.method,
      MetricsEnabled: true,
      LoggingLevel: settings.executionLogLevel,
      DataTraceEnabled: false,
    }));
    resources.ApiGatewayStage = {
      Type: 'AWS::ApiGateway::Stage',
      Properties: {
        RestApiId: { Ref: 'ApiGatewayRestApi' },
        DeploymentId: { Ref: deploymentId },
        StageName: stageName,
        TracingEnabled: settings.tracing === true || settings.tracing === 'true',
        AccessLogSetting: {
          DestinationArn: { 'Fn::GetAtt': [settings.accessLogGroup, 'Arn'] },
          Format: JSON.stringify(settings.accessLogFormat),
        },
        MethodSettings: [
          {
            ResourcePath: '/*',
            HttpMethod: '*',
            LoggingLevel: settings.executionLogLevel,
            DataTraceEnabled: false,
            MetricsEnabled: false,
            ThrottlingRateLimit: Number(settings.throttling.rateLimit),
            ThrottlingBurstLimit: Number(settings.throttling.burstLimit),
          },
          ...routeMetrics,
        ],
      },
      DependsOn: [settings.accessLogGroup, ...(settings.dependsOn || [])],
    };
  }
}

module.exports = ApiGatewayExtras;
