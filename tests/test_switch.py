"""The GIL's switch interval while servers run (``switch_interval``), with real servers."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

import nbws


@pytest.fixture(autouse=True)
def _python_default() -> Iterator[None]:
    nbws.stop_all_servers()
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    yield
    nbws.stop_all_servers()
    sys.setswitchinterval(before)


def test_a_running_server_shortens_the_switch_interval_and_its_stop_restores_it() -> None:
    server = nbws.start_server(app=nbws.App())
    assert sys.getswitchinterval() == pytest.approx(0.001, abs=2e-6)
    server.stop()
    assert sys.getswitchinterval() == pytest.approx(0.005, abs=2e-6)


def test_the_shortest_interval_of_the_running_servers_applies_until_the_last_stops() -> None:
    first = nbws.start_server(app=nbws.App(), switch_interval=0.002)
    second = nbws.start_server(app=nbws.App(), switch_interval=0.0005)
    assert sys.getswitchinterval() == pytest.approx(0.0005, abs=2e-6)
    second.stop()
    assert sys.getswitchinterval() == pytest.approx(0.002, abs=2e-6)
    second.stop()  # twice: nothing more
    assert sys.getswitchinterval() == pytest.approx(0.002, abs=2e-6)
    first.stop()
    assert sys.getswitchinterval() == pytest.approx(0.005, abs=2e-6)


def test_switch_interval_none_leaves_it_alone() -> None:
    server = nbws.start_server(app=nbws.App(), switch_interval=None)
    assert sys.getswitchinterval() == pytest.approx(0.005, abs=2e-6)
    server.stop()
    assert sys.getswitchinterval() == pytest.approx(0.005, abs=2e-6)


def test_an_interval_longer_than_pythons_is_not_applied() -> None:
    sys.setswitchinterval(0.0002)
    server = nbws.start_server(app=nbws.App(), switch_interval=0.01)
    assert sys.getswitchinterval() == pytest.approx(0.0002, abs=2e-6)
    server.stop()
    assert sys.getswitchinterval() == pytest.approx(0.0002, abs=2e-6)


def test_an_interval_the_user_set_while_a_server_ran_is_kept() -> None:
    server = nbws.start_server(app=nbws.App())
    sys.setswitchinterval(0.003)
    server.stop()
    assert sys.getswitchinterval() == pytest.approx(0.003, abs=2e-6)


def test_switch_interval_is_checked() -> None:
    with pytest.raises(Exception, match="switch_interval must be"):
        nbws.start_server(app=nbws.App(), switch_interval=0.0)
