"""Report field definitions (LVM's lib/report/columns.h) and how each value is derived.

A field is (name, heading, kind, minimum width, report object type, help text); its
value comes from a getter taking a `Row`.  Getter results by kind:

- STR: str, or (display, sort string)      - NUM/BIN: int/bool, None when undefined
- SIZ: bytes, None when undefined           - PCT: dm percent (1e-6 %), None when blank
- STRL: list of str                         - TIM: seconds since the epoch (0 = unknown)

Any getter may instead return a ready (display, sort value) tuple.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lvsim.core.model import LV, PV, VG, Disk, LVKind, shown_device
from lvsim.core.names import dm_name
from lvsim.lvm.report.view import ALLOC_CHARS, ST_POOL, ST_SNAP, Seg, VgView, dev_numbers

# value kinds
STR, NUM, BIN, SIZ, PCT, TIM, STRL = range(7)

# report object types (lib/report/report.h)
LVS, LVSINFO, LVSSTATUS, LVSINFOSTATUS = 4, 8, 16, 32
PVS, VGS, SEGS, PVSEGS, LABEL = 64, 128, 256, 512, 1024
SPECIAL = 0x80000000
LV_TYPES = LVS | LVSINFO | LVSSTATUS | LVSINFOSTATUS

# (type, description, prefix) in LVM's order
TYPES = (
    (VGS, "Volume Group", "vg_"),
    (LVS, "Logical Volume", "lv_"),
    (LVSINFO, "Logical Volume Device Info", "lv_"),
    (LVSSTATUS, "Logical Volume Device Status", "lv_"),
    (LVSINFOSTATUS, "Logical Volume Device Info and Status Combined", "lv_"),
    (PVS, "Physical Volume", "pv_"),
    (LABEL, "Physical Volume Label", "pv_"),
    (SEGS, "Logical Volume Segment", "seg_"),
    (PVSEGS, "Physical Volume Segment", "pvseg_"),
)
TYPE_PREFIX = {t: p for t, _, p in TYPES}

UNDEF = 2**64 - 1  # LVM's num_undef_64 sort value
DM_MAJOR = 254
DEVICE_READ_AHEAD = 128 * 1024  # the kernel's default read-ahead of the loop and disk devices


class Env:
    """Per-run settings the getters need: the state, size units, --binary, report/time_format."""

    __slots__ = ("_sizes", "binary", "monitoring", "state", "suffix", "time_format", "units")

    def __init__(
        self,
        state: Any,
        units: str = "r",
        suffix: bool = True,
        binary: bool = False,
        time_format: str = "%Y-%m-%d %T %z",
    ) -> None:
        self.state = state
        self.units = units
        self.suffix = suffix
        self.binary = binary
        self.time_format = time_format  # report/time_format
        self.monitoring = 1  # activation/monitoring (seg_monitor is blank when it is not 1)
        self._sizes: dict[int, str] = {}

    def size(self, nbytes: int) -> str:
        text = self._sizes.get(nbytes)
        if text is None:
            from lvsim.core.units import format_size

            text = self._sizes[nbytes] = format_size(nbytes, self.units, self.suffix)
        return text


class Row:
    """One report line's objects; free PV space has lv None, orphan PVs have view None."""

    __slots__ = ("area", "dev", "env", "lv", "pv", "seg", "view")

    def __init__(
        self,
        env: Env,
        view: VgView | None,
        lv: LV | None = None,
        seg: Seg | None = None,
        pv: PV | None = None,
        dev: Disk | None = None,
        area: Any = None,
    ) -> None:
        self.env = env
        self.view = view
        self.lv = lv
        self.seg = seg
        self.pv = pv
        self.dev = dev
        self.area = area


class Field:
    __slots__ = (
        "canon",
        "desc",
        "get",
        "heading",
        "kind",
        "name",
        "otype",
        "right",
        "sep",
        "sort_list",
        "width",
    )

    def __init__(self, name: str, heading: str, kind: int, width: int, otype: int, desc: str) -> None:
        self.name = name
        self.heading = heading
        self.kind = kind
        self.width = width
        self.otype = otype
        self.desc = desc
        self.canon = name.replace("_", "").lower()
        self.right = kind in (NUM, BIN, SIZ)
        self.sep = ","
        self.sort_list = False
        self.get: Callable[[Row], Any] = _DEFAULTS[kind]


_DEFAULTS: dict[int, Callable[[Row], Any]] = {
    STR: lambda r: "",
    NUM: lambda r: None,
    BIN: lambda r: False,
    SIZ: lambda r: None,
    PCT: lambda r: None,
    TIM: lambda r: 0,
    STRL: lambda r: [],
}

# fmt: off
_TABLE = (
    ("lv_uuid", "LV UUID", STR, 38, LVS, "Unique identifier."),
    ("lv_name", "LV", STR, 4, LVS, "Name.  LVs created for internal use are enclosed in brackets."),
    ("lv_full_name", "LV", STR, 4, LVS, "Full name of LV including its VG, namely VG/LV."),
    ("lv_path", "Path", STR, 4, LVS, "Full pathname for LV. Blank for internal LVs."),
    ("lv_dm_path", "DMPath", STR, 6, LVS,
        "Internal device-mapper pathname for LV (in /dev/mapper directory)."),
    ("lv_parent", "Parent", STR, 6, LVS, "For LVs that are components of another LV, the parent LV."),
    ("lv_layout", "Layout", STRL, 10, LVS, "LV layout."),
    ("lv_role", "Role", STRL, 10, LVS, "LV role."),
    ("lv_initial_image_sync", "InitImgSync", BIN, 10, LVS,
        "Set if mirror/RAID images underwent initial resynchronization."),
    ("lv_image_synced", "ImgSynced", BIN, 10, LVS, "Set if mirror/RAID image is synchronized."),
    ("lv_merging", "Merging", BIN, 10, LVS, "Set if snapshot LV is being merged to origin."),
    ("lv_converting", "Converting", BIN, 10, LVS, "Set if LV is being converted."),
    ("lv_allocation_policy", "AllocPol", STR, 10, LVS, "LV allocation policy."),
    ("lv_allocation_locked", "AllocLock", BIN, 10, LVS, "Set if LV is locked against allocation changes."),
    ("lv_fixed_minor", "FixMin", BIN, 10, LVS, "Set if LV has fixed minor number assigned."),
    ("lv_skip_activation", "SkipAct", BIN, 15, LVS, "Set if LV is skipped on activation."),
    ("lv_autoactivation", "AutoAct", BIN, 7, LVS, "Set if LV autoactivation is enabled."),
    ("lv_when_full", "WhenFull", STR, 15, LVS, "For thin pools, behavior when full."),
    ("lv_active", "Active", STR, 6, LVS, "Active state of the LV."),
    ("lv_active_locally", "ActLocal", BIN, 10, LVS, "Set if the LV is active locally."),
    ("lv_active_remotely", "ActRemote", BIN, 10, LVS, "Set if the LV is active remotely."),
    ("lv_active_exclusively", "ActExcl", BIN, 10, LVS, "Set if the LV is active exclusively."),
    ("lv_major", "Maj", NUM, 3, LVS, "Persistent major number or -1 if not persistent."),
    ("lv_minor", "Min", NUM, 3, LVS, "Persistent minor number or -1 if not persistent."),
    ("lv_read_ahead", "Rahead", SIZ, 6, LVS, "Read ahead setting in current units."),
    ("lv_size", "LSize", SIZ, 5, LVS, "Size of LV in current units."),
    ("lv_metadata_size", "MSize", SIZ, 5, LVS,
        "For thin and cache pools, the size of the LV that holds the metadata."),
    ("seg_count", "#Seg", NUM, 4, LVS, "Number of segments in LV."),
    ("origin", "Origin", STR, 6, LVS, "For snapshots and thins, the origin device of this LV."),
    ("origin_uuid", "Origin UUID", STR, 38, LVS,
        "For snapshots and thins, the UUID of origin device of this LV."),
    ("origin_size", "OSize", SIZ, 5, LVS, "For snapshots, the size of the origin device of this LV."),
    ("lv_ancestors", "Ancestors", STRL, 9, LVS,
        "LV ancestors ignoring any stored history of the ancestry chain."),
    ("lv_full_ancestors", "FAncestors", STRL, 10, LVS,
        "LV ancestors including stored history of the ancestry chain."),
    ("lv_descendants", "Descendants", STRL, 11, LVS,
        "LV descendants ignoring any stored history of the ancestry chain."),
    ("lv_full_descendants", "FDescendants", STRL, 12, LVS,
        "LV descendants including stored history of the ancestry chain."),
    ("raid_mismatch_count", "Mismatches", NUM, 10, LVS, "For RAID, number of mismatches found or repaired."),
    ("raid_sync_action", "SyncAction", STR, 10, LVS,
        "For RAID, the current synchronization action being performed."),
    ("raid_write_behind", "WBehind", NUM, 7, LVS,
        "For RAID1, the number of outstanding writes allowed to writemostly devices."),
    ("raid_min_recovery_rate", "MinSync", NUM, 7, LVS,
        "For RAID1, the minimum recovery I/O load in kiB/sec/disk."),
    ("raid_max_recovery_rate", "MaxSync", NUM, 7, LVS,
        "For RAID1, the maximum recovery I/O load in kiB/sec/disk."),
    ("raidintegritymode", "IntegMode", STR, 9, LVS, "The integrity mode"),
    ("raidintegrityblocksize", "IntegBlkSize", NUM, 12, LVS, "The integrity block size"),
    ("integritymismatches", "IntegMismatches", NUM, 15, LVS, "The number of integrity mismatches."),
    ("move_pv", "Move", STR, 4, LVS, "For pvmove, Source PV of temporary LV created by pvmove."),
    ("move_pv_uuid", "Move UUID", STR, 38, LVS,
        "For pvmove, the UUID of Source PV of temporary LV created by pvmove."),
    ("convert_lv", "Convert", STR, 7, LVS, "For lvconvert, Name of temporary LV created by lvconvert."),
    ("convert_lv_uuid", "Convert UUID", STR, 38, LVS,
        "For lvconvert, UUID of temporary LV created by lvconvert."),
    ("mirror_log", "Log", STR, 3, LVS, "For mirrors, the LV holding the synchronisation log."),
    ("mirror_log_uuid", "Log UUID", STR, 38, LVS,
        "For mirrors, the UUID of the LV holding the synchronisation log."),
    ("data_lv", "Data", STR, 4, LVS, "For cache/thin/vdo pools, the LV holding the associated data."),
    ("data_lv_uuid", "Data UUID", STR, 38, LVS,
        "For cache/thin/vdo pools, the UUID of the LV holding the associated data."),
    ("metadata_lv", "Meta", STR, 4, LVS, "For cache/thin pools, the LV holding the associated metadata."),
    ("metadata_lv_uuid", "Meta UUID", STR, 38, LVS,
        "For cache/thin pools, the UUID of the LV holding the associated metadata."),
    ("pool_lv", "Pool", STR, 4, LVS,
        "For cache/thin/vdo volumes, the cache/thin/vdo pool LV for this volume."),
    ("pool_lv_uuid", "Pool UUID", STR, 38, LVS,
        "For cache/thin/vdo volumes, the UUID of the cache/thin/vdo pool LV for this volume."),
    ("lv_tags", "LV Tags", STRL, 7, LVS, "Tags, if any."),
    ("lv_profile", "LProfile", STR, 8, LVS, "Configuration profile attached to this LV."),
    ("lv_lockargs", "LLockArgs", STR, 9, LVS, "Lock args of the LV used by lvmlockd."),
    ("lv_time", "CTime", TIM, 26, LVS, "Creation time of the LV, if known"),
    ("lv_time_removed", "RTime", TIM, 26, LVS, "Removal time of the LV, if known"),
    ("lv_host", "Host", STR, 10, LVS, "Creation host of the LV, if known."),
    ("lv_modules", "Modules", STRL, 7, LVS, "Kernel device-mapper modules required for this LV."),
    ("lv_historical", "Historical", BIN, 10, LVS, "Set if the LV is historical."),
    ("writecache_block_size", "WCacheBlkSize", NUM, 13, LVS, "The writecache block size"),
    ("lv_kernel_major", "KMaj", NUM, 4, LVSINFO,
        "Currently assigned major number or -1 if LV is not active."),
    ("lv_kernel_minor", "KMin", NUM, 4, LVSINFO,
        "Currently assigned minor number or -1 if LV is not active."),
    ("lv_kernel_read_ahead", "KRahead", SIZ, 7, LVSINFO,
        "Currently-in-use read ahead setting in current units."),
    ("lv_permissions", "LPerms", STR, 8, LVSINFO, "LV permissions."),
    ("lv_suspended", "Suspended", BIN, 10, LVSINFO, "Set if LV is suspended."),
    ("lv_live_table", "LiveTable", BIN, 20, LVSINFO, "Set if LV has live table present."),
    ("lv_inactive_table", "InactiveTable", BIN, 20, LVSINFO, "Set if LV has inactive table present."),
    ("lv_device_open", "DevOpen", BIN, 10, LVSINFO, "Set if LV device is open."),
    ("data_percent", "Data%", PCT, 6, LVSSTATUS,
        "For snapshot, cache and thin pools and volumes, the percentage full if LV is active."),
    ("snap_percent", "Snap%", PCT, 6, LVSSTATUS, "For snapshots, the percentage full if LV is active."),
    ("metadata_percent", "Meta%", PCT, 6, LVSSTATUS,
        "For cache and thin pools, the percentage of metadata full if LV is active."),
    ("copy_percent", "Cpy%Sync", PCT, 8, LVSSTATUS,
        "For Cache, RAID, mirrors and pvmove, current percentage in-sync."),
    ("sync_percent", "Cpy%Sync", PCT, 8, LVSSTATUS,
        "For Cache, RAID, mirrors and pvmove, current percentage in-sync."),
    ("cache_total_blocks", "CacheTotalBlocks", NUM, 16, LVSSTATUS, "Total cache blocks."),
    ("cache_used_blocks", "CacheUsedBlocks", NUM, 16, LVSSTATUS, "Used cache blocks."),
    ("cache_dirty_blocks", "CacheDirtyBlocks", NUM, 16, LVSSTATUS, "Dirty cache blocks."),
    ("cache_read_hits", "CacheReadHits", NUM, 16, LVSSTATUS, "Cache read hits."),
    ("cache_read_misses", "CacheReadMisses", NUM, 16, LVSSTATUS, "Cache read misses."),
    ("cache_write_hits", "CacheWriteHits", NUM, 16, LVSSTATUS, "Cache write hits."),
    ("cache_write_misses", "CacheWriteMisses", NUM, 16, LVSSTATUS, "Cache write misses."),
    ("kernel_cache_settings", "KCacheSettings", STRL, 18, LVSSTATUS,
        "Cache settings/parameters as set in kernel, including default values (cached segments "
        "only)."),
    ("kernel_cache_policy", "KCachePolicy", STR, 18, LVSSTATUS, "Cache policy used in kernel."),
    ("kernel_metadata_format", "KMFmt", NUM, 5, LVSSTATUS, "Cache metadata format used in kernel."),
    ("lv_health_status", "Health", STR, 15, LVSSTATUS, "LV health status."),
    ("kernel_discards", "KDiscards", STR, 9, LVSSTATUS,
        "For thin pools, how discards are handled in kernel."),
    ("lv_check_needed", "CheckNeeded", BIN, 15, LVSSTATUS,
        "For thin pools and cache volumes, whether metadata check is needed."),
    ("lv_merge_failed", "MergeFailed", BIN, 15, LVSSTATUS, "Set if snapshot merge failed."),
    ("lv_snapshot_invalid", "SnapInvalid", BIN, 15, LVSSTATUS, "Set if snapshot LV is invalid."),
    ("vdo_operating_mode", "VDOOperatingMode", STR, 16, LVSSTATUS,
        "For vdo pools, its current operating mode."),
    ("vdo_compression_state", "VDOCompressionState", STR, 19, LVSSTATUS,
        "For vdo pools, whether compression is running."),
    ("vdo_index_state", "VDOIndexState", STR, 13, LVSSTATUS,
        "For vdo pools, state of index for deduplication."),
    ("vdo_used_size", "VDOUsedSize", NUM, 11, LVSSTATUS, "For vdo pools, currently used space."),
    ("vdo_saving_percent", "VDOSaving%", NUM, 10, LVSSTATUS, "For vdo pools, percentage of saved space."),
    ("writecache_total_blocks", "WCacheTotalBlocks", NUM, 17, LVSSTATUS, "Total writecache blocks."),
    ("writecache_free_blocks", "WCacheFreeBlocks", NUM, 16, LVSSTATUS, "Total writecache free blocks."),
    ("writecache_writeback_blocks", "WCacheWritebackBlocks", NUM, 21, LVSSTATUS,
        "Total writecache writeback blocks."),
    ("writecache_error", "WCacheErrors", NUM, 12, LVSSTATUS, "Total writecache errors."),
    ("lv_attr", "Attr", STR, 4, LVSINFOSTATUS, "Various attributes - see man page."),
    ("pv_fmt", "Fmt", STR, 3, LABEL, "Type of metadata."),
    ("pv_uuid", "PV UUID", STR, 38, LABEL, "Unique identifier."),
    ("dev_size", "DevSize", SIZ, 7, LABEL, "Size of underlying device in current units."),
    ("pv_name", "PV", STR, 10, LABEL, "Name."),
    ("pv_major", "Maj", STR, 3, LABEL, "Device major number."),
    ("pv_minor", "Min", STR, 3, LABEL, "Device minor number."),
    ("pv_mda_free", "PMdaFree", SIZ, 9, LABEL, "Free metadata area space on this device in current units."),
    ("pv_mda_size", "PMdaSize", SIZ, 9, LABEL,
        "Size of smallest metadata area on this device in current units."),
    ("pv_ext_vsn", "PExtVsn", NUM, 7, LABEL, "PV header extension version."),
    ("pe_start", "1st PE", NUM, 7, PVS, "Offset to the start of data on the underlying device."),
    ("pv_size", "PSize", SIZ, 5, PVS, "Size of PV in current units."),
    ("pv_free", "PFree", SIZ, 5, PVS, "Total amount of unallocated space in current units."),
    ("pv_used", "Used", SIZ, 4, PVS, "Total amount of allocated space in current units."),
    ("pv_attr", "Attr", STR, 4, PVS, "Various attributes - see man page."),
    ("pv_allocatable", "Allocatable", BIN, 11, PVS, "Set if this device can be used for allocation."),
    ("pv_exported", "Exported", BIN, 10, PVS, "Set if this device is exported."),
    ("pv_missing", "Missing", BIN, 10, PVS, "Set if this device is missing in system."),
    ("pv_pe_count", "PE", NUM, 3, PVS, "Total number of Physical Extents."),
    ("pv_pe_alloc_count", "Alloc", NUM, 5, PVS, "Total number of allocated Physical Extents."),
    ("pv_tags", "PV Tags", STRL, 7, PVS, "Tags, if any."),
    ("pv_mda_count", "#PMda", NUM, 5, PVS, "Number of metadata areas on this device."),
    ("pv_mda_used_count", "#PMdaUse", NUM, 8, PVS, "Number of metadata areas in use on this device."),
    ("pv_ba_start", "BA Start", SIZ, 8, PVS,
        "Offset to the start of PV Bootloader Area on the underlying device in current units."),
    ("pv_ba_size", "BA Size", SIZ, 7, PVS, "Size of PV Bootloader Area in current units."),
    ("pv_in_use", "PInUse", BIN, 6, PVS, "Set if PV is used."),
    ("pv_duplicate", "Duplicate", BIN, 9, PVS, "Set if PV is an unchosen duplicate."),
    ("pv_device_id", "DeviceID", STR, 8, PVS, "Device ID such as the WWID."),
    ("pv_device_id_type", "DeviceIDType", STR, 12, PVS, "Type of device ID such as WWID."),
    ("vg_fmt", "Fmt", STR, 3, VGS, "Type of metadata."),
    ("vg_uuid", "VG UUID", STR, 38, VGS, "Unique identifier."),
    ("vg_name", "VG", STR, 2, VGS, "Name."),
    ("vg_attr", "Attr", STR, 5, VGS, "Various attributes - see man page."),
    ("vg_permissions", "VPerms", STR, 10, VGS, "VG permissions."),
    ("vg_extendable", "Extendable", BIN, 10, VGS, "Set if VG is extendable."),
    ("vg_exported", "Exported", BIN, 10, VGS, "Set if VG is exported."),
    ("vg_autoactivation", "AutoAct", BIN, 7, VGS, "Set if VG autoactivation is enabled."),
    ("vg_partial", "Partial", BIN, 10, VGS, "Set if VG is partial."),
    ("vg_allocation_policy", "AllocPol", STR, 10, VGS, "VG allocation policy."),
    ("vg_clustered", "Clustered", BIN, 10, VGS, "Set if VG is clustered."),
    ("vg_shared", "Shared", BIN, 7, VGS, "Set if VG is shared."),
    ("vg_size", "VSize", SIZ, 5, VGS, "Total size of VG in current units."),
    ("vg_free", "VFree", SIZ, 5, VGS, "Total amount of free space in current units."),
    ("vg_sysid", "SYS ID", STR, 6, VGS, "System ID of the VG indicating which host owns it."),
    ("vg_systemid", "System ID", STR, 9, VGS, "System ID of the VG indicating which host owns it."),
    ("vg_lock_type", "LockType", STR, 8, VGS, "Lock type of the VG used by lvmlockd."),
    ("vg_lock_args", "VLockArgs", STR, 9, VGS, "Lock args of the VG used by lvmlockd."),
    ("vg_extent_size", "Ext", SIZ, 3, VGS, "Size of Physical Extents in current units."),
    ("vg_extent_count", "#Ext", NUM, 4, VGS, "Total number of Physical Extents."),
    ("vg_free_count", "Free", NUM, 4, VGS, "Total number of unallocated Physical Extents."),
    ("max_lv", "MaxLV", NUM, 5, VGS, "Maximum number of LVs allowed in VG or 0 if unlimited."),
    ("max_pv", "MaxPV", NUM, 5, VGS, "Maximum number of PVs allowed in VG or 0 if unlimited."),
    ("pv_count", "#PV", NUM, 3, VGS, "Number of PVs in VG."),
    ("vg_missing_pv_count", "#PV Missing", NUM, 11, VGS, "Number of PVs in VG which are missing."),
    ("lv_count", "#LV", NUM, 3, VGS, "Number of LVs."),
    ("snap_count", "#SN", NUM, 3, VGS, "Number of snapshots."),
    ("vg_seqno", "Seq", NUM, 3, VGS,
        "Revision number of internal metadata.  Incremented whenever it changes."),
    ("vg_tags", "VG Tags", STRL, 7, VGS, "Tags, if any."),
    ("vg_profile", "VProfile", STR, 8, VGS, "Configuration profile attached to this VG."),
    ("vg_mda_count", "#VMda", NUM, 5, VGS, "Number of metadata areas on this VG."),
    ("vg_mda_used_count", "#VMdaUse", NUM, 8, VGS, "Number of metadata areas in use on this VG."),
    ("vg_mda_free", "VMdaFree", SIZ, 9, VGS, "Free metadata area space for this VG in current units."),
    ("vg_mda_size", "VMdaSize", SIZ, 9, VGS, "Size of smallest metadata area for this VG in current units."),
    ("vg_mda_copies", "#VMdaCps", NUM, 8, VGS, "Target number of in use metadata areas in the VG."),
    ("segtype", "Type", STR, 4, SEGS, "Type of LV segment."),
    ("stripes", "#Str", NUM, 4, SEGS, "Number of stripes or mirror/raid1 legs."),
    ("data_stripes", "#DStr", NUM, 5, SEGS, "Number of data stripes or mirror/raid1 legs."),
    ("reshape_len", "RSize", SIZ, 5, SEGS, "Size of out-of-place reshape space in current units."),
    ("reshape_len_le", "RSize", NUM, 5, SEGS, "Size of out-of-place reshape space in logical extents."),
    ("data_copies", "#Cpy", NUM, 4, SEGS, "Number of data copies."),
    ("data_offset", "DOff", NUM, 4, SEGS, "Data offset on each image device."),
    ("new_data_offset", "NOff", NUM, 4, SEGS, "New data offset after any reshape on each image device."),
    ("parity_chunks", "#Par", NUM, 4, SEGS, "Number of (rotating) parity chunks."),
    ("stripe_size", "Stripe", SIZ, 6, SEGS,
        "For stripes, amount of data placed on one device before switching to the next."),
    ("region_size", "Region", SIZ, 6, SEGS,
        "For mirrors/raids, the unit of data per leg when synchronizing devices."),
    ("chunk_size", "Chunk", SIZ, 5, SEGS, "For snapshots, the unit of data used when tracking changes."),
    ("thin_count", "#Thins", NUM, 6, SEGS, "For thin pools, the number of thin volumes in this pool."),
    ("discards", "Discards", STR, 8, SEGS, "For thin pools, how discards are handled."),
    ("cache_metadata_format", "CMFmt", NUM, 5, SEGS, "For cache, metadata format in use."),
    ("cache_mode", "CacheMode", STR, 9, SEGS, "For cache, how writes are cached."),
    ("zero", "Zero", BIN, 4, SEGS, "For thin pools and volumes, if zeroing is enabled."),
    ("transaction_id", "TransId", NUM, 7, SEGS,
        "For thin pools, the transaction id and creation transaction id for thins."),
    ("thin_id", "ThId", NUM, 4, SEGS, "For thin volume, the thin device id."),
    ("seg_start", "Start", SIZ, 5, SEGS,
        "Offset within the LV to the start of the segment in current units."),
    ("seg_start_pe", "Start", NUM, 5, SEGS,
        "Offset within the LV to the start of the segment in physical extents."),
    ("seg_size", "SSize", SIZ, 5, SEGS, "Size of segment in current units."),
    ("seg_size_pe", "SSize", SIZ, 5, SEGS, "Size of segment in physical extents."),
    ("seg_tags", "Seg Tags", STRL, 8, SEGS, "Tags, if any."),
    ("seg_pe_ranges", "PE Ranges", STRL, 9, SEGS,
        "Ranges of Physical Extents of underlying devices in command line format (deprecated, use "
        "seg_le_ranges for common format)."),
    ("seg_le_ranges", "LE Ranges", STRL, 9, SEGS,
        "Ranges of Logical Extents of underlying devices in command line format."),
    ("seg_metadata_le_ranges", "Metadata LE Ranges", STRL, 18, SEGS,
        "Ranges of Logical Extents of underlying metadata devices in command line format."),
    ("devices", "Devices", STRL, 7, SEGS, "Underlying devices used with starting extent numbers."),
    ("metadata_devices", "Metadata Devs", STRL, 13, SEGS,
        "Underlying metadata devices used with starting extent numbers."),
    ("seg_monitor", "Monitor", STR, 7, SEGS, "Dmeventd monitoring status of the segment."),
    ("cache_policy", "CachePolicy", STR, 11, SEGS, "The cache policy (cached segments only)."),
    ("cache_settings", "CacheSettings", STRL, 13, SEGS, "Cache settings/parameters (cached segments only)."),
    ("vdo_compression", "VDOCompression", BIN, 14, SEGS, "Set for compressed LV (vdopool)."),
    ("vdo_deduplication", "VDODeduplication", BIN, 16, SEGS, "Set for deduplicated LV (vdopool)."),
    ("vdo_use_metadata_hints", "VDOMetadataHints", BIN, 16, SEGS, "Use REQ_SYNC for writes (vdopool)."),
    ("vdo_minimum_io_size", "VDOMinimumIOSize", NUM, 16, SEGS, "Minimum acceptable IO size (vdopool)."),
    ("vdo_block_map_cache_size", "VDOBlockMapCacheSize", SIZ, 20, SEGS, "Allocated caching size (vdopool)."),
    ("vdo_block_map_era_length", "VDOBlockMapEraLength", NUM, 20, SEGS, "Speed of cache writes (vdopool)."),
    ("vdo_use_sparse_index", "VDOSparseIndex", BIN, 14, SEGS, "Sparse indexing (vdopool)."),
    ("vdo_index_memory_size", "VDOIndexMemorySize", SIZ, 18, SEGS, "Allocated indexing memory (vdopool)."),
    ("vdo_slab_size", "VDOSlabSize", SIZ, 11, SEGS, "Increment size for growing (vdopool)."),
    ("vdo_ack_threads", "VDOAckThreads", NUM, 13, SEGS, "Acknowledging threads (vdopool)."),
    ("vdo_bio_threads", "VDOBioThreads", NUM, 13, SEGS, "IO submitting threads (vdopool)."),
    ("vdo_bio_rotation", "VDOBioRotation", NUM, 14, SEGS, "IO enqueue (vdopool)."),
    ("vdo_cpu_threads", "VDOCPUThreads", NUM, 13, SEGS, "CPU threads for compression and hashing (vdopool)."),
    ("vdo_hash_zone_threads", "VDOHashZoneThreads", NUM, 18, SEGS, "Threads for subdivide parts (vdopool)."),
    ("vdo_logical_threads", "VDOLogicalThreads", NUM, 17, SEGS,
        "Logical threads for subdivide parts (vdopool)."),
    ("vdo_physical_threads", "VDOPhysicalThreads", NUM, 18, SEGS,
        "Physical threads for subdivide parts (vdopool)."),
    ("vdo_max_discard", "VDOMaxDiscard", NUM, 13, SEGS, "Maximum discard size volume can recieve (vdopool)."),
    ("vdo_write_policy", "VDOWritePolicy", STR, 14, SEGS, "Specified write policy (vdopool)."),
    ("vdo_header_size", "VDOHeaderSize", SIZ, 13, SEGS, "Header size at front of vdopool."),
    ("pvseg_start", "Start", NUM, 5, PVSEGS, "Physical Extent number of start of segment."),
    ("pvseg_size", "SSize", NUM, 5, PVSEGS, "Number of extents in segment."),
)
# fmt: on

# ---------------------------------------------------------------------------------------------
# Helpers


def _name(view: VgView, lv: LV | None) -> str | tuple[str, str]:
    """An LV name as _lvname_disp shows it: hidden LVs in brackets, sorted without them."""
    if lv is None:
        return ""
    return lv.name if lv.visible else (f"[{lv.name}]", lv.name)


def _uuid(lv: LV | None) -> str:
    return lv.uuid if lv is not None else ""


def _is_pool(r: Row) -> bool:
    return r.lv is not None and r.lv.kind == LVKind.THIN_POOL


def _info(r: Row) -> Any:
    return r.view.info(r.lv)


def _active(r: Row) -> bool:
    """lv_is_active: any layer of the LV is in the kernel."""
    lv, view = r.lv, r.view
    if lv.kind == LVKind.THIN_POOL:
        return view.tpool_active(lv)
    return view.info(lv).exists


def _layout(r: Row) -> list[str]:
    lv = r.lv
    if lv.kind == LVKind.THIN_POOL:
        return ["thin", "pool"]
    if lv.kind == LVKind.THIN:
        return ["thin", "sparse"]
    return ["linear"] if lv.segments else ["unknown"]


def _role(r: Row) -> list[str]:
    lv, view = r.lv, r.view
    role: list[str] = []
    public = lv.kind != LVKind.THIN_POOL

    def add(*items: str) -> None:
        role.extend(i for i in items if i not in role)

    if lv.role == "tmeta":
        add("thin", "pool", "metadata")
        public = False
    elif lv.role == "tdata":
        add("thin", "pool", "data")
        public = False
    elif lv.kind == LVKind.THIN:
        snaps = view.thin_snapshots(lv)
        if snaps:
            add("origin", "thinorigin", *(["multithinorigin"] if len(snaps) > 1 else []))
        if view.is_thin_snapshot(lv):
            add("snapshot", "thinsnapshot")
    if view.is_external_origin(lv):
        users = view.thin_children[lv.name]
        add("origin", "extthinorigin", *(["multiextthinorigin"] if len(users) > 1 else []))
    if lv.role == "pmspare":
        add("pool", "spare")
        public = False
    if view.is_cow_origin(lv):
        add("origin", "thickorigin", *(["multithickorigin"] if len(view.cows[lv.name]) > 1 else []))
    elif lv.kind == LVKind.COW:
        add("snapshot", "thicksnapshot")
    return ["public" if public else "private", *role]


_HEALTH_CHAR = {"failed": "F", "out_of_data": "D", "metadata_read_only": "M"}


def lv_attr(r: Row) -> str:
    """The 10 lv_attr characters (lv_attr_dup_with_info_and_seg_status)."""
    lv = r.lv
    if lv is None:
        return ""
    view = r.view
    name, kind, role = lv.name, lv.kind, lv.role
    cow_origin = name in view.cows
    if cow_origin or (kind != LVKind.THIN and name in view.thin_children):
        c0 = "O" if view.any_merging and view.is_merging_origin(lv) else "o"
    elif role == "tmeta" or role == "pmspare":
        c0 = "e"
    elif kind == LVKind.THIN:
        c0 = "V"
        if view.any_merging:
            c0 = "O" if view.is_merging_origin(lv) else ("S" if view.is_merging(lv) else "V")
    elif kind == LVKind.THIN_POOL:
        c0 = "t"
    elif role == "tdata":
        c0 = "T"
    elif kind == LVKind.COW:
        c0 = "S" if view.any_merging and view.is_merging(lv) else "s"
    else:
        c0 = "-"
    info = view.info(lv)
    if info.unknown:
        c45 = "XX"
    elif info.exists:
        c45 = ("I" if info.invalid else "a") + ("o" if info.open else "-")
    else:
        c45 = "--"
    if kind == LVKind.THIN:
        pool = view.vg.lvs.get(lv.pool)
        c67 = "tz" if pool is not None and pool.zero else "t-"
    elif kind == LVKind.THIN_POOL:
        c67 = "tz" if lv.zero else "t-"
    else:
        c67 = "s-" if kind == LVKind.COW or cow_origin else "--"
    c8 = "-"
    if view.is_partial(lv):
        c8 = "p"
    elif info.status == ST_POOL:
        c8 = _HEALTH_CHAR.get(info.health, "-")
    elif info.fail:
        c8 = "F"
    return (  # the fourth character: never m, lvsim has no persistent minor numbers
        f"{c0}{'w' if lv.writable else 'r'}{ALLOC_CHARS.get(lv.alloc, '-')}-"
        f"{c45}{c67}{c8}{'k' if lv.skip_activation else '-'}"
    )


def _ancestors(r: Row) -> list[str]:
    view, lv, out = r.view, r.lv, []
    seen = {lv.name}
    while True:
        lv = view.origin(lv)
        if lv is None or lv.name in seen:
            return out
        seen.add(lv.name)
        out.append(lv.name)


def _descendants(r: Row) -> list[str]:
    view, out = r.view, []

    def walk(lv: LV) -> None:
        children = view.cows.get(lv.name) if view.is_cow_origin(lv) else view.thin_children.get(lv.name, [])
        for child in children:
            if child.name not in out:
                out.append(child.name)
                walk(child)

    walk(r.lv)
    return out


def _modules(r: Row) -> list[str]:
    """Kernel modules: the segment type's, plus the snapshot target of an origin's COW snapshots."""
    lv = r.lv
    modules = {
        LVKind.THIN_POOL: ["thin-pool"],
        LVKind.THIN: ["thin", "thin-pool"],
        LVKind.COW: ["snapshot"],
    }.get(lv.kind, [])
    if lv.name in r.view.cows and "snapshot" not in modules:
        modules = [*modules, "snapshot"]
    return modules


def _time(ts: int, time_format: str) -> tuple[str, int]:
    import time

    if not ts:
        return "", 0
    return time.strftime(time_format, time.localtime(ts)), int(ts)


def _permissions(r: Row) -> str:
    if not r.lv.writable:
        return "read-only"
    return "writeable" if _info(r).exists else "unknown"


def _kernel(r: Row, value: int) -> int:
    return value if _info(r).exists else -1


def _kernel_minor(r: Row) -> int:
    """The minor the simulated kernel gave the LV's device (lvsim.core.devmap assigns them)."""
    if not _info(r).exists:
        return -1
    from lvsim.core import devmap

    minors = devmap.dm_state(r.env.state)["minor"]
    layer = "tpool" if r.lv.kind == LVKind.THIN_POOL else ""  # a pool's info is its -tpool device's
    return int(minors.get(dm_name(r.view.vg.name, r.lv.name, layer), 0))


def _read_ahead(r: Row) -> Any:
    ra = r.lv.read_ahead
    if ra == "auto":
        return "auto", UNDEF
    return int(ra) * 512


def _kernel_read_ahead(r: Row) -> Any:
    """The device's read-ahead: the LV's own, or for auto that of the PVs underneath (128 KiB), for a
    thin volume at least twice its pool's chunk (the kernel's for a device whose optimal I/O is the
    chunk: 256 KiB under 128 KiB chunks on LVM 2.03.16, kernel 6.1); LVM does not ask for a pool's."""
    if not _info(r).exists:
        return "-1", UNDEF
    if r.lv.kind == LVKind.THIN_POOL:
        return 0
    read_ahead = r.lv.read_ahead  # a fixed read-ahead is set on the device
    if read_ahead != "auto":
        return int(read_ahead) * 512
    pool = r.view.vg.lvs.get(r.lv.pool) if r.lv.kind == LVKind.THIN and r.view else None
    return max(DEVICE_READ_AHEAD, 2 * pool.chunk_size) if pool else DEVICE_READ_AHEAD


def _status_is(r: Row, status: int) -> bool:
    return _info(r).status == status


def _health(r: Row) -> str:
    if r.view.is_partial(r.lv):
        return "partial"
    info = _info(r)
    return info.health if info.status == ST_POOL else ""


def _snap_flag(r: Row, invalid: bool) -> bool | None:
    info = _info(r)
    if info.status != ST_SNAP:
        return None
    return info.invalid if invalid else False


def _metadata_size(r: Row) -> int | None:
    if not _is_pool(r):
        return None
    meta = r.view.lv(r.lv.metadata_lv)
    return r.view.size(meta) if meta is not None else 0


def _origin_size(r: Row) -> Any:
    lv, view = r.lv, r.view
    origin = view.origin(lv)
    if lv.kind == LVKind.COW and origin is not None:
        return view.size(origin)
    if lv.kind == LVKind.THIN and origin is not None and origin.kind != LVKind.THIN:
        return view.size(origin)
    if view.is_cow_origin(lv):
        return view.size(lv)
    return "", 0


def _sub_lv(r: Row, attr: str, uuid: bool) -> Any:
    lv = r.lv
    if lv.kind != LVKind.THIN_POOL:
        return ""
    sub = r.view.lv(getattr(lv, attr))
    return _uuid(sub) if uuid else _name(r.view, sub)


def _related(r: Row, which: Callable[[LV], LV | None], uuid: bool) -> Any:
    other = which(r.lv)
    if other is None:
        return ""
    return _uuid(other) if uuid else _name(r.view, other)


# -- PVs and devices -------------------------------------------------------------------------


def _pv_in_vg(r: Row) -> bool:
    return r.pv is not None and r.view is not None


def _pv_size(r: Row) -> int:
    if r.pv is None:
        return 0
    if _pv_in_vg(r) and r.pv.pe_count:
        return r.pv.pe_count * r.view.vg.extent_size
    return r.dev.size if r.dev is not None else 0


def _pv_alloc(r: Row) -> int:
    return r.view.alloc_by_pv.get(r.pv.device, 0) if _pv_in_vg(r) else 0


def _pv_free(r: Row) -> int:
    if _pv_in_vg(r) and r.pv.pe_count:
        return (r.pv.pe_count - _pv_alloc(r)) * r.view.vg.extent_size
    return _pv_size(r)


def _pv_attr(r: Row) -> str:
    if not _pv_in_vg(r):
        return "---"
    return (
        ("a" if r.pv.allocatable else "u")
        + ("x" if _vg_exported(r.view.vg) else "-")
        + ("m" if r.pv.missing else "-")
    )


def _dev_numbers(r: Row) -> tuple[int, int]:
    return dev_numbers(r.dev.path) if r.dev is not None else (0, 0)


def _pv_mda_free(r: Row) -> int:
    from lvsim.lvm.metadata.writer import mda_free, metadata_size

    if r.pv is None:
        return 0
    used = metadata_size(r.env.state, r.view.vg) if _pv_in_vg(r) else 0
    return mda_free(r.pv.mda_size, used)


# -- VGs -------------------------------------------------------------------------------------


def _vg_exported(vg: VG) -> bool:
    return bool(getattr(vg, "exported", False))


def _vg_attr(r: Row) -> str:
    if r.view is None:
        return "r-----" if r.pv is not None else ""
    vg = r.view.vg
    return "".join(
        (
            "w" if vg.writable else "r",
            "z" if vg.resizeable else "-",
            "x" if _vg_exported(vg) else "-",
            "p" if r.view.missing_count else "-",
            ALLOC_CHARS.get(vg.alloc, "-"),
            "-",
        )
    )


def _vg_field(r: Row, fn: Callable[[VgView], Any], orphan: Any) -> Any:
    return fn(r.view) if r.view is not None else orphan


def _pvs_of(view: VgView) -> list[PV]:
    pvs = view.state.pvs
    return [pvs[d] for d in view.vg.pvs if d in pvs]


def _lv_count(view: VgView) -> int:
    return sum(1 for lv in view.vg.lvs.values() if lv.visible)


def _snap_count(view: VgView) -> int:
    return sum(1 for lv in view.vg.lvs.values() if lv.kind == LVKind.COW)


def _vg_mda_size(view: VgView) -> int:
    return min((pv.mda_size for pv in _pvs_of(view)), default=0)


def _vg_mda_free(view: VgView) -> int:
    """The smallest free space of the VG's metadata areas (vg_mda_free)."""
    from lvsim.lvm.metadata.writer import mda_free, metadata_size

    pvs = [pv for pv in _pvs_of(view) if pv.mda_count]
    if not pvs:
        return 0
    used = metadata_size(view.state, view.vg)
    return min(mda_free(pv.mda_size, used) for pv in pvs)


def _vg_mda_count(view: VgView) -> int:
    return sum(pv.mda_count for pv in _pvs_of(view))


# -- segments --------------------------------------------------------------------------------


def _seg_pool(r: Row) -> LV | None:
    lv = r.lv
    if lv is None:
        return None
    return lv if lv.kind == LVKind.THIN_POOL else r.view.pool(lv)


def _ranges(r: Row, style: str) -> list[str]:
    """devices ("dev(start)"), seg_pe_ranges ("dev:a-b") or seg_le_ranges (hidden LVs bracketed)."""
    seg = r.seg
    if seg is None:
        return []
    out = []
    for kind, name, start in seg.areas:
        length = seg.length
        if kind == "lv":
            sub = r.view.lv(name)
            length = r.view.extents(sub) if sub is not None else 0
            if style == "le" and sub is not None and not sub.visible:
                name = f"[{name}]"
        elif kind == "pv":
            name = shown_device(name)
        out.append(f"{name}({start})" if style == "dev" else f"{name}:{start}-{start + length - 1}")
    return out


def _chunk_size(r: Row) -> int:
    lv = r.lv
    if lv is None:
        return 0
    return lv.chunk_size if lv.kind in (LVKind.THIN_POOL, LVKind.COW) else 0


def _monitor(r: Row) -> str:
    if r.lv is None or r.view is None:
        return ""
    from lvsim.lvm.dmeventd import status

    return status(r.env.state, r.view.vg, r.lv, r.env.monitoring)


def _count(n: int) -> tuple[str, int]:
    """A count shown in a SIZE-typed column (seg_size_pe): plain digits, numeric order."""
    return str(n), n


def _seg_extent(r: Row, attr: str) -> int:
    return getattr(r.seg, attr) if r.seg is not None else 0


# ---------------------------------------------------------------------------------------------
# The getters

GETTERS: dict[str, Callable[[Row], Any]] = {
    # LVS
    "lv_uuid": lambda r: _uuid(r.lv),
    "lv_name": lambda r: _name(r.view, r.lv),
    "lv_full_name": lambda r: f"{r.view.vg.name}/{r.lv.name}" if r.lv else "",
    "lv_path": lambda r: (
        f"/dev/{r.view.vg.name}/{r.lv.name}"
        if r.lv and r.lv.visible and r.lv.kind != LVKind.THIN_POOL
        else ""
    ),
    "lv_dm_path": lambda r: f"/dev/mapper/{dm_name(r.view.vg.name, r.lv.name)}" if r.lv else "",
    "lv_parent": lambda r: _related(r, r.view.parent, False) if r.lv else "",
    "lv_layout": lambda r: _layout(r) if r.lv else ["unknown"],
    "lv_role": lambda r: _role(r) if r.lv else ["public"],
    "lv_merging": lambda r: (
        bool(r.lv)
        and (
            r.view.is_merging_origin(r.lv)
            if r.view.is_cow_origin(r.lv) or r.view.is_external_origin(r.lv)
            else r.view.is_merging(r.lv)
        )
    ),
    "lv_allocation_policy": lambda r: r.lv.alloc if r.lv else "inherit",
    "lv_fixed_minor": lambda r: False,  # lvsim refuses persistent minor numbers
    "lv_skip_activation": lambda r: bool(r.lv) and r.lv.skip_activation,
    "lv_autoactivation": lambda r: r.lv.autoactivation if r.lv else True,
    "lv_when_full": lambda r: ("error" if r.lv.error_when_full else "queue") if _is_pool(r) else "",
    "lv_active": lambda r: "active" if r.lv and _active(r) else "",
    "lv_active_locally": lambda r: bool(r.lv) and _active(r),
    "lv_active_exclusively": lambda r: bool(r.lv) and _active(r),
    "lv_major": lambda r: -1,  # persistent numbers: none
    "lv_minor": lambda r: -1,
    "lv_read_ahead": lambda r: _read_ahead(r) if r.lv else ("auto", UNDEF),
    "lv_size": lambda r: r.view.size(r.lv) if r.lv else 0,
    "lv_metadata_size": _metadata_size,
    "seg_count": lambda r: len(r.view.segments(r.lv)) if r.lv else 0,
    "origin": lambda r: _related(r, r.view.origin, False) if r.lv else "",
    "origin_uuid": lambda r: _related(r, r.view.origin, True) if r.lv else "",
    "origin_size": lambda r: _origin_size(r) if r.lv else ("", 0),
    "lv_ancestors": lambda r: _ancestors(r) if r.lv else [],
    "lv_full_ancestors": lambda r: _ancestors(r) if r.lv else [],
    "lv_descendants": lambda r: _descendants(r) if r.lv else [],
    "lv_full_descendants": lambda r: _descendants(r) if r.lv else [],
    "raidintegrityblocksize": lambda r: -1,
    "data_lv": lambda r: _sub_lv(r, "data_lv", False),
    "data_lv_uuid": lambda r: _sub_lv(r, "data_lv", True),
    "metadata_lv": lambda r: _sub_lv(r, "metadata_lv", False),
    "metadata_lv_uuid": lambda r: _sub_lv(r, "metadata_lv", True),
    "pool_lv": lambda r: _related(r, r.view.pool, False) if r.lv else "",
    "pool_lv_uuid": lambda r: _related(r, r.view.pool, True) if r.lv else "",
    "lv_tags": lambda r: list(r.lv.tags) if r.lv else [],
    "lv_time": lambda r: _time(r.lv.creation_time if r.lv else 0, r.env.time_format),
    "lv_time_removed": lambda r: _time(0, ""),
    "lv_host": lambda r: r.lv.creation_host if r.lv else "",
    "lv_modules": lambda r: _modules(r) if r.lv else [],
    "writecache_block_size": lambda r: -1,
    # LVSINFO
    "lv_kernel_major": lambda r: _kernel(r, DM_MAJOR) if r.lv else -1,
    "lv_kernel_minor": lambda r: _kernel_minor(r) if r.lv else -1,
    "lv_kernel_read_ahead": lambda r: _kernel_read_ahead(r) if r.lv else ("-1", UNDEF),
    "lv_permissions": lambda r: _permissions(r) if r.lv else "",
    "lv_suspended": lambda r: (False if _info(r).exists else None) if r.lv else None,
    "lv_live_table": lambda r: (True if _info(r).exists else None) if r.lv else None,
    "lv_inactive_table": lambda r: (False if _info(r).exists else None) if r.lv else None,
    "lv_device_open": lambda r: (_info(r).open if _info(r).exists else None) if r.lv else None,
    # LVSSTATUS
    "data_percent": lambda r: _info(r).data if r.lv else None,
    "snap_percent": lambda r: _info(r).data if r.lv else None,
    "metadata_percent": lambda r: _info(r).meta if r.lv else None,
    "lv_health_status": lambda r: _health(r) if r.lv else "",
    "kernel_discards": lambda r: r.lv.discards if r.lv and _status_is(r, ST_POOL) else "",
    "lv_check_needed": lambda r: (False if _status_is(r, ST_POOL) else None) if r.lv else None,
    "lv_merge_failed": lambda r: _snap_flag(r, False) if r.lv else None,
    "lv_snapshot_invalid": lambda r: _snap_flag(r, True) if r.lv else None,
    # LVSINFOSTATUS
    "lv_attr": lv_attr,
    # LABEL
    "pv_fmt": lambda r: "lvm2" if r.pv is not None else "",
    "pv_uuid": lambda r: r.pv.uuid if r.pv is not None else "",
    "dev_size": lambda r: r.dev.size if r.dev is not None else 0,
    "pv_name": lambda r: r.dev.path if r.dev is not None else (shown_device(r.pv.device) if r.pv else ""),
    "pv_major": lambda r: (str(_dev_numbers(r)[0]), _dev_numbers(r)[0]),
    "pv_minor": lambda r: (str(_dev_numbers(r)[1]), _dev_numbers(r)[1]),
    "pv_mda_free": _pv_mda_free,
    "pv_mda_size": lambda r: r.pv.mda_size if r.pv is not None else 0,
    "pv_ext_vsn": lambda r: 2 if r.pv is not None else None,
    # PVS
    "pe_start": lambda r: (r.env.size(r.pv.pe_start if r.pv else 0), r.pv.pe_start if r.pv else 0),
    "pv_size": _pv_size,
    "pv_free": _pv_free,
    "pv_used": lambda r: _pv_alloc(r) * r.view.vg.extent_size if _pv_in_vg(r) else 0,
    "pv_attr": lambda r: _pv_attr(r),
    "pv_allocatable": lambda r: _pv_in_vg(r) and r.pv.allocatable,
    "pv_exported": lambda r: _pv_in_vg(r) and _vg_exported(r.view.vg),
    "pv_pe_count": lambda r: r.pv.pe_count if _pv_in_vg(r) else 0,
    "pv_pe_alloc_count": _pv_alloc,
    "pv_mda_count": lambda r: r.pv.mda_count if r.pv is not None else 0,
    "pv_mda_used_count": lambda r: r.pv.mda_count if r.pv is not None else 0,
    "pv_ba_start": lambda r: 0,
    "pv_ba_size": lambda r: 0,
    "pv_in_use": lambda r: _pv_in_vg(r),
    "pv_missing": lambda r: r.pv is not None and r.pv.missing,
    # VGS
    "vg_fmt": lambda r: "lvm2" if r.view is not None else "",
    "vg_uuid": lambda r: r.view.vg.uuid if r.view is not None else "",
    "vg_name": lambda r: r.view.vg.name if r.view is not None else "",
    "vg_attr": _vg_attr,
    "vg_permissions": lambda r: "writeable" if r.view is not None and r.view.vg.writable else "read-only",
    "vg_extendable": lambda r: r.view is not None and r.view.vg.resizeable,
    "vg_exported": lambda r: r.view is not None and _vg_exported(r.view.vg),
    "vg_autoactivation": lambda r: r.view.vg.autoactivation if r.view is not None else True,
    "vg_allocation_policy": lambda r: r.view.vg.alloc if r.view is not None else "unknown",
    "vg_size": lambda r: _vg_field(r, lambda v: v.extent_count * v.vg.extent_size, 0),
    "vg_free": lambda r: _vg_field(r, lambda v: v.free_count * v.vg.extent_size, 0),
    "vg_extent_size": lambda r: _vg_field(r, lambda v: v.vg.extent_size, 0),
    "vg_extent_count": lambda r: _vg_field(r, lambda v: v.extent_count, 0),
    "vg_free_count": lambda r: _vg_field(r, lambda v: v.free_count, 0),
    "max_lv": lambda r: 0,
    "max_pv": lambda r: 0,
    "pv_count": lambda r: _vg_field(r, lambda v: len(v.vg.pvs), 0),
    "vg_missing_pv_count": lambda r: _vg_field(r, lambda v: v.missing_count, 0),
    "vg_partial": lambda r: _vg_field(r, lambda v: bool(v.missing_count), False),
    "lv_count": lambda r: _vg_field(r, _lv_count, 0),
    "snap_count": lambda r: _vg_field(r, _snap_count, 0),
    "vg_seqno": lambda r: _vg_field(r, lambda v: v.vg.seqno, 0),
    "vg_tags": lambda r: list(r.view.vg.tags) if r.view is not None else [],
    "pv_tags": lambda r: list(r.pv.tags) if r.pv is not None else [],
    "vg_mda_count": lambda r: _vg_field(r, _vg_mda_count, 0),
    "vg_mda_used_count": lambda r: _vg_field(r, _vg_mda_count, 0),
    "vg_mda_free": lambda r: _vg_field(r, _vg_mda_free, 0),
    "vg_mda_size": lambda r: _vg_field(r, _vg_mda_size, 0),
    "vg_mda_copies": lambda r: ("unmanaged", UNDEF),
    # SEGS
    "segtype": lambda r: r.seg.segtype if r.seg is not None else "free",
    "stripes": lambda r: len(r.seg.areas) if r.seg is not None else 0,
    "data_stripes": lambda r: len(r.seg.areas) if r.seg is not None else 0,
    "data_copies": lambda r: 1 if r.seg is not None else None,
    "stripe_size": lambda r: 0,
    "region_size": lambda r: 0,
    "chunk_size": _chunk_size,
    "thin_count": lambda r: len(r.view.thins.get(r.lv.name, ())) if _is_pool(r) else None,
    "discards": lambda r: p.discards if (p := _seg_pool(r)) is not None else "",
    "zero": lambda r: p.zero if (p := _seg_pool(r)) is not None else None,
    "transaction_id": lambda r: (
        r.lv.transaction_id if r.lv and r.lv.kind in (LVKind.THIN, LVKind.THIN_POOL) else None
    ),
    "thin_id": lambda r: r.lv.thin_id if r.lv and r.lv.kind == LVKind.THIN else None,
    "seg_start": lambda r: _seg_extent(r, "le") * r.view.vg.extent_size if r.view else 0,
    "seg_start_pe": lambda r: _seg_extent(r, "le"),
    "seg_size": lambda r: (
        (r.seg.length if r.seg else r.area.count if r.area else 0) * (r.view.vg.extent_size if r.view else 0)
    ),
    "seg_size_pe": lambda r: _count(r.seg.length if r.seg else (r.area.count if r.area else 0)),
    "seg_pe_ranges": lambda r: _ranges(r, "pe"),
    "seg_le_ranges": lambda r: _ranges(r, "le"),
    "devices": lambda r: _ranges(r, "dev"),
    "seg_monitor": _monitor,
    # PVSEGS
    "pvseg_start": lambda r: r.area.pe_start if r.area is not None else 0,
    "pvseg_size": lambda r: r.area.count if r.area is not None else 0,
    # special
    "selected": lambda r: 1,
}

_SPECIAL = (
    ("selected", "Selected", NUM, 8, SPECIAL, "Set if item passes selection criteria."),
    ("help", "Help", NUM, 8, SPECIAL, "Show help."),
    ("?", "Help", NUM, 8, SPECIAL, "Show help."),
)

FIELDS: list[Field] = [Field(*entry) for entry in _TABLE]
IMPLICIT: list[Field] = [Field(*entry) for entry in _SPECIAL]
BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}

for _field in FIELDS + IMPLICIT:
    _field.get = GETTERS.get(_field.name, _field.get)
for _name_, _sep in (("devices", ","), ("metadata_devices", ","), ("seg_pe_ranges", " ")):
    BY_NAME[_name_].sep = _sep
for _name_ in ("lv_tags", "pv_tags", "vg_tags", "seg_tags", "lv_modules"):
    BY_NAME[_name_].sort_list = True

_FREE_DEFAULTS: dict[int, Any] = {
    STR: "",
    NUM: None,
    BIN: False,
    SIZ: None,
    PCT: None,
    TIM: ("", 0),
    STRL: [],
}

# What LV fields show on a `pvs` row of free space (LVM reports a nameless dummy LV there).
_FREE_LV: dict[str, Any] = {
    "lv_size": 0,
    "lv_read_ahead": 0,
    "lv_layout": ["unknown"],
    "lv_role": ["public"],
    "lv_major": -1,
    "lv_minor": -1,
    "lv_kernel_major": -1,
    "lv_kernel_minor": -1,
    "lv_kernel_read_ahead": ("-1", UNDEF),
    "lv_permissions": "unknown",
    "lv_autoactivation": True,
    "lv_suspended": None,
    "lv_live_table": None,
    "lv_inactive_table": None,
    "lv_device_open": None,
    "lv_check_needed": None,
    "lv_merge_failed": None,
    "lv_snapshot_invalid": None,
    "origin_size": ("", 0),
    "raidintegrityblocksize": -1,
    "writecache_block_size": -1,
}


def free_space_getter(field: Field) -> Callable[[Row], Any]:
    """field.get for reports that can have rows without an LV (pvs with LV fields)."""
    if not field.otype & LV_TYPES:
        return field.get
    get, value = field.get, _FREE_LV.get(field.name, _FREE_DEFAULTS[field.kind])
    if field.name == "lv_full_name":
        return lambda r: get(r) if r.lv is not None else (f"{r.view.vg.name}/" if r.view else "/")
    return lambda r: get(r) if r.lv is not None else value
