"""Xet hashes against the reference vectors of xet-core and hf-xet, and CRC-64/NVME."""

from __future__ import annotations

import hashlib
import os
import random

import blake3
import pytest

from hubstead.api.errors import status_for
from hubstead.errors import InvalidInputError, XetFormatError
from hubstead.xet import hashing
from hubstead.xet.hashing import (
    aggregated_hash,
    chunk_hash,
    crc64nvme,
    file_hash,
    hash_to_hex,
    hex_to_hash,
    is_global_dedup_eligible,
    keyed_chunk_hash,
    sha256_from_xet_order,
    sha256_to_xet_order,
    truncate,
    verification_hash,
    xorb_hash,
)

H1 = "cfc5d07f6f03c29bbf424132963fe08d19a37d5757aaf520bf08119f05cd56d6"
H2 = "c3e67584b5c4fc2a89837ec39e40f2c8a6bb0b2987ac94cd4b31e5fbdd210a72"
H3 = "0d2beb91b9196929a5ddec9f6e306924ddf4a24268e3e59fd8464738d525af37"
THREE = [(hex_to_hash(H1), 100), (hex_to_hash(H2), 200), (hex_to_hash(H3), 300)]


def test_hex_of_bytes_0_to_31_reverses_each_word() -> None:
    assert hash_to_hex(bytes(range(32))) == "07060504030201000f0e0d0c0b0a090817161514131211101f1e1d1c1b1a1918"


def test_hex_round_trips() -> None:
    raw = os.urandom(32)
    assert hex_to_hash(hash_to_hex(raw)) == raw


def test_hex_to_hash_accepts_uppercase() -> None:
    assert hex_to_hash(H1.upper()) == hex_to_hash(H1)


@pytest.mark.parametrize(
    "text",
    [
        H1[:-1],
        H1 + "0",
        "",
        "g" + H1[1:],
        H1[:-1] + "\n",
        H1 + "\n",
        " " + H1[1:],
        "+" + H1[1:],
        "0x" + H1[2:],
        H1[:16] + "_" + H1[17:],
    ],
)
def test_hex_to_hash_refuses_anything_but_64_hex_digits(text: str) -> None:
    with pytest.raises(XetFormatError):
        hex_to_hash(text)


def test_hash_to_hex_refuses_wrong_length() -> None:
    with pytest.raises(XetFormatError):
        hash_to_hex(bytes(31))


def test_xet_format_error_is_a_bad_request_with_its_own_code() -> None:
    error = XetFormatError("bad xorb")
    assert isinstance(error, InvalidInputError)
    assert error.code == "XetFormatError"
    assert status_for(error) == 400


def test_single_leaf_aggregates_to_itself() -> None:
    assert hash_to_hex(xorb_hash([(hex_to_hash(H1), 100)])) == H1


def test_reference_file_hash_of_one_chunk() -> None:
    assert hash_to_hex(file_hash([(hex_to_hash(H1), 100)])) == (
        "8e16257caa3fe079d484d872a8975264b2ff683b0d6db9028cc7c0f968a45661"
    )


def test_reference_xorb_hash_of_three_chunks() -> None:
    assert hash_to_hex(xorb_hash(THREE)) == "71ec1275fca074724e2dd666921b3277c7cee603e4d025bcab2d4050015be2bc"


def test_reference_file_hash_of_three_chunks() -> None:
    assert hash_to_hex(file_hash(THREE)) == "54e55dccc6653c612bdb5576c5d3cb34bb31bc4e100248abccf4c908b3ef7715"


def test_empty_aggregation_and_empty_file_are_zeros() -> None:
    assert aggregated_hash([]) == bytes(32)
    assert file_hash([]) == bytes(32)


def test_merge_node_text_format() -> None:
    """Two leaves are one group: the node hashes their "hex : size" lines with the internal-node key."""
    text = f"{H1} : 100\n{H2} : 200\n".encode()
    expected = blake3.blake3(text, key=hashing.INTERNAL_NODE_KEY).digest()
    assert aggregated_hash(THREE[:2]) == expected


def test_file_hash_of_a_one_byte_file_matches_hf_xet() -> None:
    # value computed by hf_xet 1.8.0 `hash_files` on a file holding b"x"
    assert hash_to_hex(file_hash([(chunk_hash(b"x"), 1)])) == (
        "ee8f129a399d20f10cae506c65e70831a63945b2cf619d39bb4eae90736fd8d7"
    )


def test_aggregation_of_many_leaves_is_deterministic_and_order_sensitive() -> None:
    rng = random.Random(7)
    leaves = [(rng.randbytes(32), rng.randrange(1, 131073)) for _ in range(3000)]
    assert xorb_hash(leaves) == xorb_hash(list(leaves))
    assert xorb_hash(leaves) != xorb_hash(leaves[::-1])
    assert xorb_hash(leaves) != xorb_hash([*leaves[:-1], (leaves[-1][0], leaves[-1][1] + 1)])


def test_verification_hash_keys_the_concatenated_chunk_hashes() -> None:
    hashes = [hex_to_hash(H1), hex_to_hash(H2)]
    expected = blake3.blake3(hashes[0] + hashes[1], key=hashing.VERIFICATION_KEY).digest()
    assert verification_hash(hashes) == expected
    assert verification_hash(hashes[::-1]) != expected


def test_keyed_chunk_hash_depends_on_the_key() -> None:
    h = hex_to_hash(H1)
    key = bytes(range(32))
    assert keyed_chunk_hash(key, h) == blake3.blake3(h, key=key).digest()
    assert keyed_chunk_hash(bytes(32), h) != keyed_chunk_hash(key, h)


def test_truncate_reads_the_first_eight_bytes_little_endian() -> None:
    assert truncate(bytes(range(32))) == 0x0706050403020100


@pytest.mark.parametrize(("last_word", "eligible"), [(0, True), (1024 * 77, True), (1025, False), (512, False)])
def test_global_dedup_eligibility_uses_the_last_word(last_word: int, eligible: bool) -> None:
    h = bytes(range(24)) + last_word.to_bytes(8, "little")
    assert is_global_dedup_eligible(h) is eligible


def test_sha256_is_stored_with_each_word_reversed() -> None:
    digest = hashlib.sha256(b"abc").digest()
    stored = b"".join(digest[i : i + 8][::-1] for i in range(0, 32, 8))
    assert sha256_to_xet_order(digest.hex()) == stored
    assert sha256_from_xet_order(stored) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_observed_shard_sha256_bytes_give_the_sha256sum() -> None:
    # spec §3.3.4: stored b79c8a18645788b8…, sha256sum b8885764188a9cb7…
    stored = bytes.fromhex("b79c8a18645788b8") + bytes(24)
    assert sha256_from_xet_order(stored).startswith("b8885764188a9cb7")


def _crc64nvme_bitwise(data: bytes) -> int:
    poly = 0x9A6C9329AC4BC9B5  # 0xAD93D23594C93659 reflected
    crc = (1 << 64) - 1
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
    return crc ^ ((1 << 64) - 1)


def test_crc64nvme_check_value() -> None:
    assert crc64nvme(b"123456789") == 0xAE8B14860A799888


def test_crc64nvme_of_nothing_is_zero() -> None:
    assert crc64nvme(b"") == 0


def test_crc64nvme_long_input_matches_bitwise_reference() -> None:
    """Inputs of several 4 KiB lanes go through the vectorised path; the tail through the byte loop."""
    data = random.Random(1).randbytes(8 * 4096 * 2 + 1234)
    assert crc64nvme(data) == _crc64nvme_bitwise(data)


@pytest.mark.parametrize("split", [0, 1, 4095, 40_000, 70_000, 100_000])
def test_crc64nvme_continues_from_a_previous_crc(split: int) -> None:
    data = random.Random(2).randbytes(100_000)
    assert crc64nvme(data[split:], crc64nvme(data[:split])) == crc64nvme(data)


def test_crc64nvme_accepts_memoryview() -> None:
    data = random.Random(3).randbytes(50_000)
    assert crc64nvme(memoryview(data)[10:]) == crc64nvme(data[10:])
