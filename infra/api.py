"""Api: one IAM-authorized REST API serving the personalize, personalize-runtime and personalize-events APIs."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import constants
from infra.config import TailorConfig


class Api(Construct):
    """POST / (awsJson, routed by X-Amz-Target) plus the restJson1 paths; every method needs SigV4 (AWS_IAM)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: TailorConfig,
        control_plane: lambda_.IFunction,
        runtime: lambda_.IFunction,
        events: lambda_.IFunction,
    ) -> None:
        super().__init__(scope, construct_id)
        access_logs = logs.LogGroup(
            self,
            constants.ACCESS_LOG_GROUP_ID,
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=config.cdk_removal_policy,
        )
        self.rest_api = apigw.RestApi(
            self,
            constants.REST_API_ID,
            description="Tailor: the Amazon Personalize, Personalize Runtime and Personalize Events APIs",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            default_method_options=apigw.MethodOptions(authorization_type=apigw.AuthorizationType.IAM),
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=config.cdk_removal_policy,
            deploy_options=apigw.StageOptions(
                stage_name=config.stage,
                throttling_rate_limit=config.api_rate_limit,
                throttling_burst_limit=config.api_burst_limit,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                # Execution logs for errors only, and never request bodies (they carry user ids and events).
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,
            ),
        )
        # The stack's own ApiEndpoint output replaces RestApi's automatic one (a hashed output name).
        self.rest_api.node.try_remove_child("Endpoint")
        # Each API goes to its own function (and role); one Lambda permission per function, not one per method.
        control_plane_integration, runtime_integration, events_integration = (
            apigw.LambdaIntegration(function, proxy=True, scope_permission_to_method=False)
            for function in (control_plane, runtime, events)
        )
        root = self.rest_api.root
        root.add_method("POST", control_plane_integration)
        # Endpoints with a base path (https://host/stage/anything) reach the control plane too; the handler routes.
        root.add_resource("{proxy+}").add_method("POST", control_plane_integration)
        for path in constants.RUNTIME_PATHS:
            root.add_resource(path).add_method("POST", runtime_integration)
        for path in constants.EVENTS_PATHS:
            root.add_resource(path).add_method("POST", events_integration)

        for response_id, response_type in (
            (constants.GATEWAY_RESPONSE_4XX_ID, apigw.ResponseType.DEFAULT_4_XX),
            (constants.GATEWAY_RESPONSE_5XX_ID, apigw.ResponseType.DEFAULT_5_XX),
        ):
            self.rest_api.add_gateway_response(
                response_id,
                type=response_type,
                templates={"application/json": constants.GATEWAY_ERROR_TEMPLATE},
            )

        Validations.of(self.rest_api).acknowledge(
            Acknowledgment(
                id="AwsSolutions-APIG2",
                reason="Requests are validated in the Lambda against botocore's own service model (DESIGN §1), "
                "which answers with Personalize's error shapes; an API Gateway validator could not.",
            ),
            Acknowledgment(
                id="AwsSolutions-APIG3",
                reason="Every method requires SigV4 (AWS_IAM) and the stage is throttled; a WAFv2 web ACL is a "
                "per-deployment choice (and cost) that can be associated with the stage later.",
            ),
            Acknowledgment(
                id="AwsSolutions-COG4",
                reason="Callers are AWS SDK clients signing with SigV4, as with Amazon Personalize; AWS_IAM is "
                "the authorizer on every method, a Cognito user pool would break wire compatibility.",
            ),
            Acknowledgment(
                id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AmazonAPIGatewayPushToCloudWatchLogs]",
                reason="API Gateway's account-level CloudWatch role; AWS's managed policy is the documented one "
                "and is limited to CloudWatch Logs.",
            ),
        )

    @property
    def url(self) -> str:
        """The stage URL, e.g. https://abc.execute-api.eu-west-1.amazonaws.com/dev/ (the boto3 endpoint_url)."""
        return self.rest_api.url
