"""Envelopes from the broker are outside input: decoding never raises, a bad
entry is counted and skipped, and the numbering skips duplicates and counts
gaps. Property tests (Hypothesis) and a real Redis fed garbage."""

from __future__ import annotations

import asyncio
import secrets

from hypothesis import given, settings
from hypothesis import strategies as st

from nbws.backplane import Envelope, MemoryBackplane, Numbering, decode, encode
from nbws.backplane.link import numbered
from nbws.backplane.outbox import Outbox
from nbws.backplane.wire import MAGIC
from tests.conftest import run

tokens = st.from_regex(r"[A-Za-z0-9_.:-]{1,64}", fullmatch=True)
names = st.from_regex(r"[A-Za-z0-9_.:/-]{0,200}", fullmatch=True)
payloads = st.one_of(st.text(), st.binary())


@given(st.binary(max_size=2048))
@settings(max_examples=500, deadline=None)
def test_decode_never_raises_on_arbitrary_bytes(raw: bytes) -> None:
    assert decode(raw) is None or isinstance(decode(raw), Envelope)
    assert decode(MAGIC + raw) is None or isinstance(decode(MAGIC + raw), Envelope)


@given(tokens, st.integers(1, 2**63 - 1), tokens, names, payloads, st.booleans())
@settings(max_examples=300, deadline=None)
def test_encode_then_decode_gives_the_same_envelope(origin: str, seq: int, kind: str, name: str,
                                                     data: str | bytes, direct: bool) -> None:
    assert decode(encode(origin, seq, kind, name, data, direct)) == Envelope(origin, seq, kind, name, data, direct)


@given(tokens, st.integers(1, 1000), payloads, st.data())
@settings(max_examples=300, deadline=None)
def test_a_damaged_envelope_is_rejected_or_well_formed(origin: str, seq: int, data: str | bytes,
                                                       draw: st.DataObject) -> None:
    raw = bytearray(encode(origin, seq, "b", "", data))
    at = draw.draw(st.integers(0, len(raw) - 1))
    raw[at] = draw.draw(st.integers(0, 255))
    cut = bytes(raw[:draw.draw(st.integers(0, len(raw)))])
    for damaged in (bytes(raw), cut):
        result = decode(damaged)
        assert result is None or (isinstance(result.origin, str) and isinstance(result.seq, int))


def test_decode_rejects_what_is_not_this_format() -> None:
    assert decode("text, not bytes") is None
    assert decode(b"NBBP1[1,2,3]\npayload") is None  # wrong header shape
    assert decode(b'NBBP1["o",0,"b","",1]\nx') is None  # sequence numbers start at 1
    assert decode(b'NBBP1["o",1,"b","",1]\n\xff') is None  # text that is not UTF-8
    assert decode(b'NBBP1["o",1,"b","",true]\nx') is None  # a bool is not the flag
    assert decode(b'NBBP1["o",1,"b","",1,true]\nx') is None  # nor the direct mark
    assert decode(b'NBBP1["o",1,"b","",1,2]\nx') is None
    assert decode(b'NBBP1["o",1,"b","",1,1]\nx') == Envelope("o", 1, "b", "", "x", direct=True)
    assert decode(MAGIC + b"[" * 100_000) is None  # no header line within the bound


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(1, 50)), max_size=200))
def test_numbering_accepts_each_message_once_and_counts_gaps(arrivals: list[tuple[str, int]]) -> None:
    numbering = Numbering()
    accepted: dict[str, list[int]] = {}
    for origin, seq in arrivals:
        if numbering.accept(origin, seq):
            accepted.setdefault(origin, []).append(seq)
    for seqs in accepted.values():
        assert seqs == sorted(set(seqs)), "strictly increasing per sender: never twice"
    assert numbering.duplicates == len(arrivals) - sum(len(s) for s in accepted.values())
    assert numbering.missed == sum(s[-1] - s[0] + 1 - len(s) for s in accepted.values())


def test_a_node_counts_and_skips_bad_entries_and_goes_on(redis_url: str) -> None:
    """Garbage published straight onto an app's Redis channel (another
    program, an older nbws): counted as bad, skipped, and the next real
    message is delivered."""
    from redis.asyncio import Redis

    from nbws.backplane.redis import RedisBackplane

    async def main() -> None:
        app = "bad" + secrets.token_hex(4)
        got: list[Envelope] = []
        node = RedisBackplane(redis_url, app, got.append)
        sender = RedisBackplane(redis_url, app, lambda e: None)
        await node.start()
        await sender.start()
        client = Redis.from_url(redis_url)
        try:
            for junk in (b"", b"hello", MAGIC, MAGIC + b'["x",1,"b","",1]\n\xff\xfe', b"\x00" * 10_000):
                await client.publish(node.bus, junk)
            sender.publish("b", "", "real")
            async with asyncio.timeout(5):
                while not got:
                    await asyncio.sleep(0.01)
            assert [e.data for e in got] == ["real"]
            assert node.stats(0).bad == 5
        finally:
            await client.aclose()
            await sender.stop()
            await node.stop()

    run(main)


def test_in_memory_node_without_an_app_shares_nothing() -> None:
    async def main() -> None:
        got: list[Envelope] = []
        alone, other = MemoryBackplane(None, got.append), MemoryBackplane(None, got.append)
        await alone.start()
        await other.start()
        alone.publish("b", "", "x")
        await asyncio.sleep(0)
        assert got == [] and alone.stats(0).app is None

    run(main)


def test_servers_of_one_app_in_one_process_share_through_memory() -> None:
    """The in-process default: two servers with one app_name share a
    broadcast and a channel value; a server without app_name gets neither."""
    from websockets.asyncio.client import connect

    import nbws

    async def main() -> None:
        a = nbws.start_server(app=nbws.App(), app_name="mem" + secrets.token_hex(3))
        b = nbws.start_server(app=nbws.App(), app_name=a.app_name)
        alone = nbws.start_server(app=nbws.App())
        channels = [s.channel("prices") for s in (a, b, alone)]
        async with connect(b.ws_url + "_nbws/ws") as plain, connect(b.ws_url + "_nbws/channel/prices") as sub, \
                connect(alone.ws_url + "_nbws/ws") as outside:
            a.broadcast("hello")
            channels[0].send({"p": 1})
            alone.broadcast("only-here")
            assert await asyncio.wait_for(plain.recv(), 5) == "hello"
            assert await asyncio.wait_for(sub.recv(), 5) == "hello"  # a broadcast reaches every socket
            assert await asyncio.wait_for(sub.recv(), 5) == '{"p": 1}'
            assert await asyncio.wait_for(outside.recv(), 5) == "only-here"
        assert b.backplane_stats().received == 2 and alone.backplane_stats().received == 0

    run(main)


def test_a_nodes_direct_messages_are_a_sequence_of_their_own() -> None:
    numbering = Numbering()
    assert numbering.accept("a", 1)
    assert numbering.accept("a", 1, direct=True) and numbering.accept("a", 2, direct=True)
    assert numbering.accept("a", 2), "what a sent to this node alone is no gap in what it published"
    assert not numbering.accept("a", 2, direct=True) and numbering.duplicates == 1
    assert numbering.accept("a", 5, direct=True) and numbering.missed == 2, "a gap in the direct ones is a loss"


@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_an_uplink_frame_decoder_never_raises(raw: bytes) -> None:
    for frame in (raw, b"P" + raw, b"S" + raw, b"S12\n" + raw):
        found = numbered(frame)
        assert found is None or (found[0] > 0 and frame.endswith(found[2]))


def test_uplink_frames_carry_the_links_number_apart_from_the_envelopes() -> None:
    outbox = Outbox(max_messages=3, max_bytes=1 << 20)
    envelope = encode("k", 7, "w", "", "to-a", direct=True)
    outbox.add(b"P", encode("k", 1, "b", "", "all"))
    outbox.add(b"S", b"relay-a\n" + envelope)
    assert numbered(outbox.take() or b"") == (1, None, encode("k", 1, "b", "", "all"))
    assert numbered(outbox.take() or b"") == (2, "relay-a", envelope)  # the envelope's 7 is its own
    assert numbered(b"P0\nx") is None and numbered(b"Px\nx") is None and numbered(b"S3\nnode-only") is None


def test_the_outbox_keeps_frames_until_acknowledged_and_writes_again_what_a_new_socket_needs() -> None:
    outbox = Outbox(max_messages=3, max_bytes=1 << 20)
    for i in range(4):  # the fourth pushes the oldest out
        assert outbox.add(b"P", f"m{i}".encode()) == (1 if i == 3 else 0)
    assert [numbered(outbox.take() or b"")[0] for _ in range(2)] == [2, 3]  # type: ignore[index]
    outbox.acknowledged(2)
    assert (len(outbox), outbox.waiting) == (2, 1)
    outbox.rewind()  # the same relay on a new socket: 3 again, then 4
    assert [numbered(outbox.take() or b"")[0] for _ in range(2)] == [3, 4]  # type: ignore[index]
    assert outbox.take() is None and outbox.forget_written() == 2 and (len(outbox), outbox.bytes) == (0, 0)
