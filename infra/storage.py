"""Storage: the resources and events DynamoDB tables, the S3 artifacts bucket and the data bucket for users' files."""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra import constants
from infra.config import TailorConfig
from tailor import config as tailor_config


class Storage(Construct):
    """Every table and bucket of a deployment; the other constructs only receive grants on them."""

    def __init__(self, scope: Construct, construct_id: str, *, config: TailorConfig) -> None:
        super().__init__(scope, construct_id)
        self.resources_table = self._table(
            constants.RESOURCES_TABLE_ID, config, partition_key=tailor_config.RESOURCES_PK, sort_key=None
        )
        for index_name, partition_key in (
            (tailor_config.BY_KIND_INDEX, tailor_config.BY_KIND_PK),
            (tailor_config.BY_PARENT_INDEX, tailor_config.BY_PARENT_PK),
        ):
            self.resources_table.add_global_secondary_index(
                index_name=index_name,
                partition_key=dynamodb.Attribute(name=partition_key, type=dynamodb.AttributeType.STRING),
                sort_key=dynamodb.Attribute(name=tailor_config.LIST_SK, type=dynamodb.AttributeType.STRING),
                projection_type=dynamodb.ProjectionType.ALL,
            )
        self.resources_indexes = (tailor_config.BY_KIND_INDEX, tailor_config.BY_PARENT_INDEX)
        self.events_table = self._table(
            constants.EVENTS_TABLE_ID, config, partition_key=tailor_config.EVENTS_PK, sort_key=tailor_config.EVENTS_SK
        )

        self.access_logs_bucket = self._bucket(
            constants.ACCESS_LOGS_BUCKET_ID, config, lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(90))]
        )
        Validations.of(self.access_logs_bucket).acknowledge(
            Acknowledgment(
                id="AwsSolutions-S1",
                reason="This bucket is the access-log destination; logging it into itself would loop.",
            )
        )
        self.artifacts_bucket = self._bucket(
            constants.ARTIFACTS_BUCKET_ID,
            config,
            versioned=True,
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix=constants.ARTIFACTS_ACCESS_LOGS_PREFIX,
            lifecycle_rules=[
                s3.LifecycleRule(
                    noncurrent_version_expiration=Duration.days(30),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
        )
        # The users' own files: CSVs to import, batch inputs, and where batch jobs and exports write. Jobs may use
        # this bucket and the dataLocations the deployer names (cdk.json), nothing else.
        self.data_bucket = self._bucket(
            constants.DATA_BUCKET_ID,
            config,
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix=constants.DATA_ACCESS_LOGS_PREFIX,
            lifecycle_rules=[s3.LifecycleRule(abort_incomplete_multipart_upload_after=Duration.days(7))],
        )

    def _bucket(self, construct_id: str, config: TailorConfig, **options: Any) -> s3.Bucket:
        """Every bucket: SSE-S3, public access blocked, TLS-only, no ACLs.

        Not auto_delete_objects: its custom-resource Lambda would be one more role to audit. A "destroy" stack leaves
        a non-empty bucket behind for the user to empty and delete."""
        return s3.Bucket(
            self,
            construct_id,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=config.cdk_removal_policy,
            **options,
        )

    def _table(
        self, construct_id: str, config: TailorConfig, *, partition_key: str, sort_key: str | None
    ) -> dynamodb.Table:
        return dynamodb.Table(
            self,
            construct_id,
            partition_key=dynamodb.Attribute(name=partition_key, type=dynamodb.AttributeType.STRING),
            sort_key=None
            if sort_key is None
            else dynamodb.Attribute(name=sort_key, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            deletion_protection=config.deletion_protection,
            removal_policy=config.cdk_removal_policy,
        )
