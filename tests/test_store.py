"""Full-resolution storage (nbws/live/store.py): columns that grow and drop
their oldest values cheaply, the non-decreasing-x flag, the plot's bound."""

from __future__ import annotations

import math
from array import array

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbws.live import column as column_module
from nbws.live.blocks import Blocks
from nbws.live.store import Column, Series, Store

operations = st.lists(st.one_of(
    st.tuples(st.just("append"), st.lists(st.one_of(st.floats(-5, 5), st.just(math.nan)), max_size=300)),
    st.tuples(st.just("drop"), st.integers(0, 400)),
), max_size=40)


@pytest.mark.parametrize("use_numpy", [True, False])
@settings(max_examples=150, deadline=None)
@given(ops=operations)
def test_a_series_keeps_what_a_list_keeps_and_knows_when_x_is_sorted(use_numpy: bool,
                                                                    ops: list[tuple[str, object]]) -> None:
    series = Series(use_numpy)
    model: list[float] = []
    for op, arg in ops:
        if op == "append":
            assert isinstance(arg, list)
            values = numpy.array(arg) if use_numpy and arg else array("d", arg)
            series.append(values, values)
            model.extend(arg)
        else:
            assert isinstance(arg, int)
            series.drop(arg)
            del model[:arg]
        xs, ys = series.views()
        assert [repr(float(v)) for v in xs] == [repr(v) for v in model] == [repr(float(v)) for v in ys]
        assert series.sorted_x == all(model[i] >= model[i - 1] for i in range(1, len(model)))
        assert series.x.capacity <= max(1024, (len(model) + 300) * 5 // 4)


@pytest.mark.parametrize("use_numpy", [True, False])
def test_dropping_the_oldest_points_moves_a_head_not_the_data(use_numpy: bool) -> None:
    column = Column(use_numpy)
    column.append(array("d", range(100_000)))
    buffer = column._data
    column.drop(99_990)
    assert column._data is buffer and list(column.view()) == [float(i) for i in range(99_990, 100_000)]
    column.append(array("d", [1.0]))  # room left at the end: still the same buffer
    assert column._data is buffer and len(column) == 11


def test_a_store_keeps_at_most_max_points_oldest_first_across_series() -> None:
    store = Store(2, 1000)
    store.series[0].append(array("d", range(900)), array("d", range(900)))
    store.series[1].append(array("d", range(300)), array("d", range(300)))
    store.trim()
    assert 995 <= store.points <= 1000
    assert list(store.series[0].x.view())[-1] == 899.0 and list(store.series[1].x.view())[-1] == 299.0
    assert store.series[0].x.view()[0] > 0 and store.series[1].x.view()[0] > 0


def assert_blocks_summarise(blocks: Blocks, values: list[float], first: int) -> None:
    """Every block kept holds the minimum and maximum of its finite values,
    and its child bytes lead to the first of each; blocks reaching before
    ``first`` (dropped values) are not kept."""
    f = blocks.fanout
    for depth, level in enumerate(blocks.levels, start=1):
        size = f ** depth
        assert level.base * size >= first
        for k in range(level.base, level.base + len(level)):
            chunk = values[k * size - first:(k + 1) * size - first]
            assert len(chunk) == size
            finite = [v for v in chunk if math.isfinite(v)]
            low, high = (min(finite), max(finite)) if finite else (math.inf, -math.inf)
            assert (level.mins.view()[k - level.base], -level.negmaxs.view()[k - level.base]) == (low, high)
            if finite:
                for lowest, target in ((True, low), (False, high)):
                    index, d = k, depth
                    while d:
                        below = blocks.levels[d - 1]
                        index = index * f + int((below.amin if lowest else below.amax).view()[index - below.base])
                        d -= 1
                    assert index - k * size == chunk.index(target)


@settings(max_examples=150, deadline=None)
@given(ops=operations, fanout=st.integers(2, 4))
def test_block_summaries_follow_appends_and_drops(ops: list[tuple[str, object]], fanout: int) -> None:
    series = Series()
    series.blocks = Blocks(fanout)
    model: list[float] = []
    for op, arg in ops:
        if op == "append":
            assert isinstance(arg, list)
            series.append(numpy.array(arg), numpy.array([v if i % 3 else -v for i, v in enumerate(arg)]))
        else:
            assert isinstance(arg, int)
            series.drop(arg)
        model = series.y.view().tolist()
        assert series.blocks.first == series.dropped
        assert_blocks_summarise(series.blocks, model, series.dropped)
        complete = (series.dropped + len(model)) // fanout - -(-series.dropped // fanout)
        kept = len(series.blocks.levels[0]) if series.blocks.levels else 0
        assert kept == max(0, complete)  # every whole block of the points kept, no more


def test_a_series_keeps_block_summaries_of_its_y_with_numpy_only() -> None:
    assert Series(False).blocks is None
    series = Series()
    series.append(array("d", range(5000)), array("d", [float(i % 97) for i in range(5000)]))
    series.drop(1000)
    assert series.blocks is not None and series.blocks.first == 1000
    assert_blocks_summarise(series.blocks, series.y.view().tolist(), 1000)


@pytest.mark.parametrize("use_numpy", [True, False])
@settings(max_examples=150, deadline=None)
@given(ops=operations)
def test_a_column_moving_a_slice_at_a_time_keeps_what_a_list_keeps(use_numpy: bool,
                                                                 ops: list[tuple[str, object]]) -> None:
    with pytest.MonkeyPatch.context() as patch:  # moves of a few values per append: many appends each
        patch.setattr(column_module, "MOVE_SLICE", 1)
        patch.setattr(column_module, "MOVE_RATE", 2)
        patch.setattr(column_module, "MIN_CAPACITY", 4)
        column = Column(use_numpy)
        model: list[float] = []
        for op, arg in ops:
            if op == "append":
                assert isinstance(arg, list)
                column.append(numpy.array(arg) if use_numpy and arg else array("d", arg))
                model.extend(arg)
            else:
                assert isinstance(arg, int)
                column.drop(arg)
                del model[:arg]
            assert [repr(float(v)) for v in column.view()] == [repr(v) for v in model]


@pytest.mark.parametrize("use_numpy", [True, False])
def test_no_append_copies_the_whole_column(use_numpy: bool) -> None:
    """A column growing to 200,000 values and then sliding (drops as it grows)
    moves to new buffers a slice per append: no append copies more than
    MOVE_RATE times its own length (or MOVE_SLICE), yet the values stay right."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(column_module, "MOVE_SLICE", 4096)
        column = Column(use_numpy)
        batch = array("d", range(1000))
        worst = 0
        for i in range(400):
            before = column.copied
            column.append(batch)
            if i >= 200:
                column.drop(1000)
            worst = max(worst, column.copied - before)
        assert column.moves >= 5 and len(column) == 200_000
        assert worst <= max(column_module.MOVE_SLICE, column_module.MOVE_RATE * 1000)
        assert list(column.view()[:3]) == [0.0, 1.0, 2.0] and list(column.view()[-2:]) == [998.0, 999.0]


@pytest.mark.parametrize("use_numpy", [True, False])
def test_a_csv_download_while_the_columns_move_writes_every_point_once(use_numpy: bool,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A download reads each part from the live series while appends move its
    columns to new buffers (and drops skip the oldest): every point it
    wanted that is still kept when read, once, in order, and nothing pushed
    after the request."""
    from nbws.live import export

    monkeypatch.setattr(export, "PART_BYTES", 1)  # one batch a part
    monkeypatch.setattr(export, "ROWS", 100)  # of 100 rows
    monkeypatch.setattr(column_module, "MOVE_SLICE", 1000)  # a move takes a few appends
    series = Series(use_numpy)
    n = 20_000
    series.append(array("d", range(n)), array("d", (v * 0.5 for v in range(n))))
    body = export.csv_rows([export.want("s", series, -math.inf, math.inf, False)], -math.inf, math.inf)
    assert next(body) == b"series,x,y\n"
    moved, seen_moving, dropped = series.x.moves + series.y.moves, False, 0
    rows: list[bytes] = []
    for k, part in enumerate(body):
        rows.extend(part.splitlines())
        start = n + 100 * k  # 100 points more between parts: both columns move a few times
        series.append(array("d", range(start, start + 100)), array("d", (v * 0.5 for v in range(start, start + 100))))
        seen_moving = seen_moving or series.x.moving or series.y.moving
        if k % 4 == 3:  # the plot drops a few of its oldest points now and then
            series.drop(100)
            dropped += 100
    assert seen_moving and series.x.moves + series.y.moves >= moved + 2
    expected = [f"s,{float(v)!r},{v * 0.5!r}".encode() for v in range(n)]
    skipped = len(expected) - len(rows)
    assert 0 <= skipped <= dropped and rows == expected[skipped:]


def test_a_column_emptied_by_drops_takes_an_append_larger_than_its_room(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(column_module, "MOVE_SLICE", 1)
    monkeypatch.setattr(column_module, "MOVE_RATE", 2)
    monkeypatch.setattr(column_module, "MIN_CAPACITY", 4)
    column = Column()
    column.append(array("d", [0.0, 1.0, 2.0]))
    column.append(array("d", [3.0]))  # a move starts
    column.drop(4)  # every value dropped while it is under way
    column.append(array("d", range(9)))  # Hypothesis found it: raised TypeError
    assert list(column.view()) == [float(v) for v in range(9)]
