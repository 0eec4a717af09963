"""Filters through a stock boto3 client: expressions are checked at create time (evaluation comes later)."""

from __future__ import annotations

import pytest


@pytest.fixture
def group_with_data(make_dataset, group):
    make_dataset("INTERACTIONS")
    make_dataset("ITEMS")
    make_dataset("USERS")
    return group


@pytest.mark.parametrize(
    "expression",
    [
        'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click", "purchase")',
        "INCLUDE ItemID WHERE Items.GENRE IN ($GENRE)",
        "INCLUDE ItemID WHERE Items.PRICE <= $PRICE",
        "INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE AND Items.GENRE IN CurrentItem.GENRE",
        "EXCLUDE ItemID WHERE Items.GENRE IN ($GENRE) IF CurrentUser.MEMBERSHIP = $LEVEL",
        'INCLUDE ItemID WHERE Items.GENRE IN ("Comedy") | EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")',
        "INCLUDE UserID WHERE Users.MEMBERSHIP IN ($MEMBERSHIP)",
    ],
)
def test_documented_expressions_create_active_filters(personalize, tailor, group_with_data, expression):
    arn = personalize.create_filter(name="f", datasetGroupArn=group_with_data, filterExpression=expression)[
        "filterArn"]
    assert arn == "arn:aws:personalize:us-east-1:123456789012:filter/f"
    tailor.wait()
    described = personalize.describe_filter(filterArn=arn)["filter"]
    assert described["status"] == "ACTIVE"
    assert described["filterExpression"] == expression
    assert personalize.list_filters(datasetGroupArn=group_with_data)["Filters"][0]["filterArn"] == arn


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("INCLUDE ItemID WHERE Items.GENRE LIKE ($G)", "LIKE"),
        ("INCLUDE ItemID WHERE Items.GENRE IN ($G) AND Interactions.EVENT_TYPE IN (\"x\")", "Interactions"),
        ("INCLUDE ItemID WHERE Items.COLOUR IN ($C)", "COLOUR"),
        ("INCLUDE ItemID Items.GENRE IN ($G)", "WHERE"),
    ],
)
def test_bad_expressions_say_what_is_wrong(personalize, group_with_data, expression, fragment):
    with pytest.raises(personalize.exceptions.InvalidInputException) as err:
        personalize.create_filter(name="f", datasetGroupArn=group_with_data, filterExpression=expression)
    assert fragment in str(err.value)


def test_filter_on_missing_dataset(personalize, make_dataset, group):
    make_dataset("INTERACTIONS")
    with pytest.raises(personalize.exceptions.InvalidInputException) as err:
        personalize.create_filter(name="f", datasetGroupArn=group,
                                  filterExpression="INCLUDE ItemID WHERE Items.GENRE IN ($G)")
    assert "no ITEMS dataset" in str(err.value)


def test_filter_limit_per_group(personalize, group_with_data):
    for i in range(10):
        personalize.create_filter(name=f"f{i}", datasetGroupArn=group_with_data,
                                  filterExpression="INCLUDE ItemID WHERE Items.GENRE IN ($G)")
    with pytest.raises(personalize.exceptions.LimitExceededException):
        personalize.create_filter(name="f10", datasetGroupArn=group_with_data,
                                  filterExpression="INCLUDE ItemID WHERE Items.GENRE IN ($G)")


def test_duplicate_filter_name_and_delete(personalize, tailor, group_with_data):
    expression = "INCLUDE ItemID WHERE Items.GENRE IN ($G)"
    arn = personalize.create_filter(name="f", datasetGroupArn=group_with_data, filterExpression=expression)[
        "filterArn"]
    with pytest.raises(personalize.exceptions.ResourceAlreadyExistsException):
        personalize.create_filter(name="f", datasetGroupArn=group_with_data, filterExpression=expression)
    tailor.wait()
    personalize.delete_filter(filterArn=arn)
    tailor.wait()
    with pytest.raises(personalize.exceptions.ResourceNotFoundException):
        personalize.describe_filter(filterArn=arn)
