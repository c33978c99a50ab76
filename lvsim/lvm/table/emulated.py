"""What lvsim emulates of LVM's command surface. Everything else in the table is refused.

A command line LVM would accept, but that names a command, a command definition, an option or a
report field not listed here, fails before lvsim does anything: one line `lvsim: ... is not
emulated` on stderr and exit code NOT_EMULATED (lvsim.core.errors), a code LVM never uses.

Each entry is backed by golden transcripts recorded on real LVM (tests/golden): COVERAGE.md names
them, and tests/test_table.py fails when an emulated option appears in no recorded step.
"""

from __future__ import annotations

# Answered from the table itself for every emulated command: usage text and LVM's version; and
# --config, read by every command (lvsim.core.config), which refuses the settings it does not honour.
EVERYWHERE = frozenset({"help", "version", "config"})

_REPORT = frozenset(
    {
        "aligned", "all", "binary", "config", "nameprefixes", "noheadings", "nosuffix", "options", "readonly",
        "reportformat", "rows", "select", "separator", "sort", "unbuffered", "units", "unquoted", "verbose",
    }
)  # fmt: skip
# pvdisplay/vgdisplay/lvdisplay: the report options go with -C (lvsim.lvm.lvdisplay.incompatible)
_DISPLAY = frozenset(
    {"aligned", "binary", "columns", "noheadings", "nosuffix", "options", "readonly", "select", "separator", "sort",
     "unbuffered", "units"}
)  # fmt: skip
_POOL = frozenset({"chunksize", "discards", "errorwhenfull", "poolmetadatasize", "poolmetadataspare", "zero"})
_NEW_LV = frozenset(
    {
        "name",
        "activate",
        "autobackup",
        "noudevsync",
        "addtag",
        "setautoactivation",
        "readahead",
        "permission",
        "yes",
    }
)

# command -> command definition id (tools/command-lines.in) -> the options lvsim honours in it
# beyond the definition's required ones (which come with it; of a definition that wants "any one of"
# several options, the emulated ones are listed). Definitions not listed are refused.
DEFINITIONS: dict[str, dict[str, frozenset[str]]] = {
    "pvcreate": {
        "pvcreate_general": frozenset({"metadatasize", "dataalignment", "pvmetadatacopies", "force"})
    },
    "pvremove": {"pvremove_general": frozenset({"force", "yes"})},
    "pvchange": {
        "pvchange_properties_some": frozenset({"allocatable", "addtag", "deltag", "uuid", "autobackup"})
    },
    "vgcreate": {
        "vgcreate_general": frozenset(
            {"physicalextentsize", "alloc", "autobackup", "addtag", "setautoactivation"}
        )
    },
    "vgextend": {"vgextend_general": frozenset({"autobackup"})},
    "vgreduce": {  # --force only matters with --removemissing
        "vgreduce_by_pv": frozenset({"autobackup", "force"}),
        "vgreduce_all": frozenset({"autobackup", "force"}),
    },
    "vgremove": {"vgremove_general": frozenset({"force", "yes", "noudevsync"})},
    "vgchange": {
        "vgchange_activate": frozenset({"ignoreactivationskip", "autobackup"}),
        "vgchange_properties": frozenset(
            {"alloc", "resizeable", "autobackup", "addtag", "deltag", "setautoactivation", "uuid"}
        ),
        "vgchange_refresh": frozenset(),
        "vgchange_monitor": frozenset({"autobackup"}),
    },
    "lvcreate": {
        "lvcreate_linear": _NEW_LV | {"contiguous", "alloc", "wipesignatures"},
        "lvcreate_mirror_or_raid1": _NEW_LV | {"contiguous", "alloc", "wipesignatures"},  # -m 0 only
        "lvcreate_thinpool": _NEW_LV | _POOL | {"thinpool", "thin"},
        "lvcreate_thin_vol": _NEW_LV | {"thin", "config", "setactivationskip", "ignoreactivationskip"},
        "lvcreate_thin_snapshot": _NEW_LV | {"thin", "setactivationskip", "ignoreactivationskip"},
        "lvcreate_cow_snapshot": _NEW_LV | {"snapshot", "chunksize", "setactivationskip"},
        "lvcreate_cow_snapshot_with_virtual_origin": _NEW_LV | {"snapshot"},
        "lvcreate_thin_vol_with_thinpool_or_sparse_snapshot": _NEW_LV | {"snapshot"},  # -s only
        "lvcreate_thin_vol_and_thinpool": _NEW_LV | _POOL | {"thin"},
    },
    "lvextend": {
        "lvextend_by_size": frozenset({"autobackup", "poolmetadatasize", "yes"}),
        "lvextend_by_pv": frozenset({"autobackup", "yes"}),
        "lvextend_pool_metadata_by_size": frozenset({"autobackup"}),
        "lvextend_by_policy": frozenset({"autobackup", "config"}),
    },
    "lvreduce": {"lvreduce_general": frozenset({"autobackup", "force", "yes"})},
    "lvresize": {"lvresize_by_size": frozenset({"autobackup", "force", "yes"})},
    "lvremove": {"lvremove_general": frozenset({"autobackup", "force", "yes", "quiet", "noudevsync"})},
    "lvrename": {
        "lvrename_vg_lv_lv": frozenset({"autobackup", "noudevsync"}),
        "lvrename_lv_lv": frozenset({"autobackup", "noudevsync"}),
    },
    "lvchange": {
        "lvchange_properties": frozenset(
            {
                "addtag",
                "deltag",
                "permission",
                "alloc",
                "contiguous",
                "readahead",
                "setactivationskip",
                "setautoactivation",
                "discards",
                "errorwhenfull",
                "zero",
                "activate",
                "autobackup",
                "select",
            }
        ),
        "lvchange_activate": frozenset({"ignoreactivationskip", "autobackup", "select", "yes"}),
        "lvchange_refresh": frozenset({"autobackup", "select"}),
        "lvchange_monitor": frozenset({"autobackup", "select"}),
        "lvchange_resync": frozenset({"activate"}),  # refused for every LV type lvsim has
    },
    "lvconvert": {
        "lvconvert_to_thinpool": frozenset(
            {"chunksize", "poolmetadata", "poolmetadatasize", "poolmetadataspare", "zero", "yes"}
        ),
        "lvconvert_to_thinpool_or_swap_metadata": frozenset(
            {"chunksize", "poolmetadata", "poolmetadatasize", "poolmetadataspare", "zero", "yes"}
        ),
        "lvconvert_merge": frozenset(),
        "lvconvert_merge_snapshot": frozenset(),
        "lvconvert_merge_thin": frozenset(),
    },
    "lvs": {"lvs_general": _REPORT | {"segments"}},
    **{
        name: {"lvmconfig_general": frozenset({"configtype", "mergedconfig", "validate", "withcomments"})}
        for name in ("lvmconfig", "config", "dumpconfig")
    },
    "vgs": {"vgs_general": _REPORT},
    "pvs": {"pvs_general": _REPORT | {"segments"}},
    "lvdisplay": {"lvdisplay_general": _DISPLAY | {"all", "maps"}},
    "vgdisplay": {"vgdisplay_general": _DISPLAY | {"short"}},
    "pvdisplay": {"pvdisplay_general": _DISPLAY | {"short"}},
    "lvscan": {"lvscan_general": frozenset({"all", "readonly"})},
    "vgscan": {"vgscan_general": frozenset({"mknodes", "ignorelockingfailure"})},
    "pvscan": {"pvscan_display": frozenset({"short"})},
    "vgrename": {
        "vgrename_by_name": frozenset({"autobackup"}),
        "vgrename_by_uuid": frozenset({"autobackup"}),
    },
    "vgcfgbackup": {"vgcfgbackup_general": frozenset({"file"})},
    "vgcfgrestore": {
        "vgcfgrestore_by_file": frozenset({"force_long"}),
        "vgcfgrestore_list_by_vg": frozenset(),
    },
    "version": {"version_general": frozenset()},
    "help": {"help_general": frozenset()},
}

# Report fields lvsim computes, or shows with the value LVM shows for every kind of LV, PV and VG
# lvsim has (the golden case core-report-defaults shows those on real LVM), in LVM's order.
FIELDS: frozenset[str] = frozenset(
    {
        "lv_uuid",
        "lv_name",
        "lv_full_name",
        "lv_path",
        "lv_dm_path",
        "lv_parent",
        "lv_layout",
        "lv_role",
        "lv_merging",
        "lv_allocation_policy",
        "lv_fixed_minor",
        "lv_skip_activation",
        "lv_autoactivation",
        "lv_when_full",
        "lv_active",
        "lv_active_locally",
        "lv_active_exclusively",
        "lv_major",
        "lv_minor",
        "lv_read_ahead",
        "lv_size",
        "lv_metadata_size",
        "seg_count",
        "origin",
        "origin_uuid",
        "origin_size",
        "lv_ancestors",
        "lv_full_ancestors",
        "lv_descendants",
        "lv_full_descendants",
        "raidintegrityblocksize",
        "move_pv",
        "convert_lv",
        "mirror_log",
        "data_lv",
        "data_lv_uuid",
        "metadata_lv",
        "metadata_lv_uuid",
        "pool_lv",
        "pool_lv_uuid",
        "lv_tags",
        "lv_time",
        "lv_time_removed",
        "lv_host",
        "lv_modules",
        "writecache_block_size",
        "lv_kernel_major",
        "lv_kernel_minor",
        "lv_kernel_read_ahead",
        "lv_permissions",
        "lv_suspended",
        "lv_live_table",
        "lv_inactive_table",
        "lv_device_open",
        "data_percent",
        "snap_percent",
        "metadata_percent",
        "copy_percent",
        "lv_health_status",
        "kernel_discards",
        "lv_check_needed",
        "lv_merge_failed",
        "lv_snapshot_invalid",
        "lv_attr",
        "pv_fmt",
        "pv_uuid",
        "dev_size",
        "pv_name",
        "pv_major",
        "pv_minor",
        "pv_mda_free",
        "pv_mda_size",
        "pv_ext_vsn",
        "pe_start",
        "pv_size",
        "pv_tags",
        "pv_free",
        "pv_used",
        "pv_attr",
        "pv_allocatable",
        "pv_exported",
        "pv_pe_count",
        "pv_pe_alloc_count",
        "pv_mda_count",
        "pv_mda_used_count",
        "pv_ba_start",
        "pv_ba_size",
        "pv_in_use",
        "vg_fmt",
        "vg_uuid",
        "vg_name",
        "vg_attr",
        "vg_permissions",
        "vg_extendable",
        "vg_exported",
        "vg_autoactivation",
        "vg_allocation_policy",
        "vg_size",
        "vg_free",
        "vg_extent_size",
        "vg_extent_count",
        "vg_free_count",
        "max_lv",
        "max_pv",
        "pv_count",
        "vg_missing_pv_count",
        "lv_count",
        "snap_count",
        "vg_seqno",
        "vg_tags",
        "vg_mda_count",
        "vg_mda_used_count",
        "vg_mda_free",
        "vg_mda_size",
        "vg_mda_copies",
        "segtype",
        "stripes",
        "data_stripes",
        "data_copies",
        "stripe_size",
        "region_size",
        "chunk_size",
        "thin_count",
        "discards",
        "zero",
        "transaction_id",
        "thin_id",
        "seg_start",
        "seg_start_pe",
        "seg_size",
        "seg_size_pe",
        "seg_pe_ranges",
        "seg_le_ranges",
        "devices",
        "seg_monitor",
        "pvseg_start",
        "pvseg_size",
    }
)
