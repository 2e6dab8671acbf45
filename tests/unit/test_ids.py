"""domain/ids.py: ids from a pool of the system's random bytes; order ids sort by time."""

import os
import re
import time

import pytest

from ordergate.domain.ids import new_hex_id, new_order_id, parse_order_id


def test_ids_are_32_hex_characters_and_do_not_repeat_across_refills() -> None:
    ids = [new_hex_id() for _ in range(3 * 4096 // 16 + 7)]  # three pools and some
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert parse_order_id(new_order_id())


def test_order_ids_sort_by_time_and_stay_unique() -> None:
    before = time.time_ns() // 1_000_000
    first = [new_order_id() for _ in range(1000)]
    time.sleep(0.002)
    later = new_order_id()
    after = time.time_ns() // 1_000_000
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in [*first, later])
    assert len(set(first)) == len(first)
    assert before <= int(first[0][:12], 16) <= int(later[:12], 16) <= after
    assert later > max(first)  # a later millisecond sorts after every id of the earlier ones


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_draws_its_own_ids() -> None:
    new_hex_id()  # the parent's pool holds unused bytes now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, then out without running pytest's teardown
        os.close(read)
        os.write(write, "".join(new_hex_id() for _ in range(4)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = pipe.read()
    os.waitpid(pid, 0)
    parent = "".join(new_hex_id() for _ in range(4))
    assert len(child) == len(parent) == 128
    assert child != parent
