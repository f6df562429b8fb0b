"""The assembler, fed frames with no sockets: fragments, UTF-8, size."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.frames import Frame, Opcode

from nbws.io.assembler import Assembler, InvalidText, MessageTooBig


def test_a_single_text_frame_is_a_message() -> None:
    assert Assembler().feed(Frame(Opcode.TEXT, "héllo".encode())) == "héllo"


def test_a_single_binary_frame_is_bytes() -> None:
    assert Assembler().feed(Frame(Opcode.BINARY, b"\x00\x01")) == b"\x00\x01"


def test_fragments_make_one_message_only_at_the_last() -> None:
    a = Assembler()
    assert a.feed(Frame(Opcode.TEXT, b"ab", fin=False)) is None
    assert a.assembling
    assert a.feed(Frame(Opcode.CONT, b"cd", fin=False)) is None
    assert a.feed(Frame(Opcode.CONT, b"ef")) == "abcdef"
    assert not a.assembling
    assert a.feed(Frame(Opcode.BINARY, b"x", fin=False)) is None
    assert a.feed(Frame(Opcode.CONT, b"y")) == b"xy"


def test_a_character_split_across_fragments_is_whole() -> None:
    a = Assembler()
    euro = "€".encode()  # three bytes
    assert a.feed(Frame(Opcode.TEXT, euro[:1], fin=False)) is None
    assert a.feed(Frame(Opcode.CONT, euro[1:])) == "€"


def test_invalid_utf8_is_found_in_the_first_fragment_that_holds_it() -> None:
    a = Assembler()
    with pytest.raises(InvalidText) as info:
        a.feed(Frame(Opcode.TEXT, b"ok\xff", fin=False))  # not the end of the message yet
    assert info.value.position == 2
    assert not a.assembling  # dropped: ready for a new message
    assert a.feed(Frame(Opcode.TEXT, b"next")) == "next"


def test_invalid_utf8_in_a_single_frame() -> None:
    with pytest.raises(InvalidText):
        Assembler().feed(Frame(Opcode.TEXT, b"\xc3\x28"))


def test_a_message_over_max_size_is_refused() -> None:
    a = Assembler(max_size=4)
    assert a.feed(Frame(Opcode.BINARY, b"ab", fin=False)) is None
    with pytest.raises(MessageTooBig) as info:
        a.feed(Frame(Opcode.CONT, b"cde", fin=False))
    assert (info.value.size, info.value.max_size) == (5, 4)
    assert not a.assembling


def test_a_continuation_without_a_start_is_refused() -> None:
    with pytest.raises(ValueError):
        Assembler().feed(Frame(Opcode.CONT, b"x"))


def test_a_new_message_inside_a_fragmented_one_is_refused() -> None:
    a = Assembler()
    a.feed(Frame(Opcode.TEXT, b"a", fin=False))
    with pytest.raises(ValueError):
        a.feed(Frame(Opcode.BINARY, b"b"))



def fragmented(opcode: Opcode, chunks: list[bytes]) -> list[Frame]:
    """One message as frames: ``opcode`` first, then continuations, the last final."""
    return [Frame(opcode if i == 0 else Opcode.CONT, chunk, fin=i == len(chunks) - 1) for i, chunk in enumerate(chunks)]


stray = st.builds(lambda opcode, data, fin: [Frame(opcode, data, fin=fin)],
                  st.sampled_from([Opcode.TEXT, Opcode.BINARY, Opcode.CONT]), st.binary(max_size=40), st.booleans())
texts = st.builds(lambda parts: fragmented(Opcode.TEXT, [p.encode() for p in parts]),
                  st.lists(st.text(max_size=30), min_size=1, max_size=5))
blobs = st.builds(lambda parts: fragmented(Opcode.BINARY, parts), st.lists(st.binary(max_size=30), min_size=1, max_size=5))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(texts, blobs, stray), max_size=8))
def test_any_frame_sequence_gives_messages_or_a_documented_error(messages: list[list[Frame]]) -> None:
    a = Assembler(64)
    for frame in [frame for message in messages for frame in message]:
        try:
            message = a.feed(frame)
        except (InvalidText, MessageTooBig, ValueError):
            return  # the connection is failed (1007 / 1009) or the protocol layer refused it first
        assert message is None or isinstance(message, (str, bytes))
        if message is not None:
            assert len(message.encode() if isinstance(message, str) else message) <= 64
