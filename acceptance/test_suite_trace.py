"""The suite's own check: hazards, requirements and tests trace both ways."""
import pytest

from acceptance import trace


@pytest.mark.suite_check
def test_safety_data_is_consistent():
    problems = trace.check_data(trace.load())
    assert not problems, '\n'.join(problems)


@pytest.mark.suite_check
def test_every_requirement_has_a_test_and_every_test_a_requirement(suite_tests):
    problems = trace.check_suite(trace.load(), suite_tests)
    assert not problems, '\n'.join(problems)


@pytest.mark.suite_check
def test_markdown_view_is_current():
    s = trace.load()
    assert (trace.SAFETY / 'README.md').read_text() == trace.markdown(s), \
        'docs/safety/README.md is stale: python -m acceptance.trace --write'
