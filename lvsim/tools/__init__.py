"""The non-LVM tools a script uses around LVM: losetup, dd, blkdiscard, mkfs, mount, sfdisk, kpartx, dmsetup."""
