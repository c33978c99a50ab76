"""LVM's metadata text format (format_text, version 1): what vgcfgbackup writes and vgcfgrestore reads.

The syntax is lvsim.core.config_text's; `writer` turns a simulated VG into LVM's text, `reader` turns
the text back into a VG, and `files` keeps the simulated /etc/lvm/backup and /etc/lvm/archive.
"""

# The commands that may write a VG's metadata: each is archived before and backed up after.
WRITERS = frozenset(
    {
        "pvchange", "vgcreate", "vgextend", "vgreduce", "vgremove", "vgchange", "lvcreate", "lvextend",
        "lvreduce", "lvresize", "lvremove", "lvrename", "lvchange", "lvconvert", "vgrename",
    }
)  # fmt: skip
# The commands that check each VG's backup and renew a missing or stale one (vgchange only with -ay).
CHECKERS = frozenset({"vgs", "vgdisplay", "vgscan", "vgchange"})
