"""Thin-pool and COW sizing policy: chunk and metadata sizes, limits, autoextend defaults (LVM 2.03.16)."""

from __future__ import annotations

from lvsim.core.model import LV, VG, MiB
from lvsim.core.units import SECTOR, display_size

KiB = 1024


THIN_MIN_CHUNK = 64 * KiB


THIN_MAX_CHUNK = 1024 * MiB


DEFAULT_THIN_CHUNK = 64 * KiB


OPTIMAL_METADATA = 128 * MiB


MIN_METADATA = 2 * MiB


MAX_METADATA = 16646400 * KiB  # 255 * 16320 * 4 KiB, thin_pool_crop_metadata=0


PERFORMANCE_CHUNK = 512 * KiB


SPARE_MAX = 16 * 1024 * MiB


COW_DEFAULT_CHUNK = 4 * KiB


AUTOEXTEND_THRESHOLD = 100


AUTOEXTEND_PERCENT = 20


def round_up(value: int, unit: int) -> int:
    return -(-value // unit) * unit


def estimate_metadata(data_bytes: int, chunk: int) -> int:
    """64 bytes of metadata per data chunk, computed in sectors as LVM does (bytes)."""
    return data_bytes // SECTOR // (chunk // SECTOR * 8) * SECTOR


def estimate_chunk(data_bytes: int, meta_bytes: int) -> int:
    """The chunk size LVM derives from a data and a metadata size (bytes)."""
    sectors = data_bytes // SECTOR // (meta_bytes // SECTOR * 8) if meta_bytes else 0
    if sectors > 2047:
        sectors = round_up(sectors, 2048)
    else:
        sectors = 1 << max(0, (sectors - 1).bit_length()) if sectors > 1 else 1
    return min(max(sectors * SECTOR, THIN_MIN_CHUNK), THIN_MAX_CHUNK)


def validate_chunk(chunk: int) -> list[str]:
    """LVM's complaints about a thin pool chunk size (empty when fine)."""
    problems = []
    if not THIN_MIN_CHUNK <= chunk <= THIN_MAX_CHUNK:
        problems.append(
            f"Thin pool chunk size {display_size(chunk)} is not in the range "
            f"{display_size(THIN_MIN_CHUNK)} to {display_size(THIN_MAX_CHUNK)}."
        )
    if chunk % THIN_MIN_CHUNK:
        problems.append(
            f"Thin pool chunk size {display_size(chunk)} must be a multiple of {display_size(THIN_MIN_CHUNK)}."
        )
    return problems


def cow_max_extents(vg: VG, origin: LV, chunk: int) -> int:
    """The largest useful COW size for an origin, in extents (snapshot_manip.c _cow_max_size)."""
    size = origin.le_count * vg.extent_size
    origin_chunks = -(-size // chunk)
    per_area = chunk // 16
    metadata_chunks = (origin_chunks + per_area) // per_area
    return -(-(1 + origin_chunks + metadata_chunks) * chunk // vg.extent_size)
