"""CDK entry point: one App with one TailorStack, synthesized into cdk.out (`cdk synth` or `python app.py`)."""

from __future__ import annotations

from aws_cdk import App

from infra.config import TailorConfig, app_props
from infra.constants import STACK_ID
from infra.stack import TailorStack, add_compliance_checks

app = App(**app_props())
config = TailorConfig.from_context(app.node)
TailorStack(app, STACK_ID, config=config)
if config.cdk_nag:
    add_compliance_checks(app)
app.synth()
