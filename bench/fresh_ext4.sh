#!/usr/bin/env bash
# fresh_ext4.sh: run one benchmark with its files on a fresh ext4 file system.
#
#   sudo bench/fresh_ext4.sh [--size GiB] BENCH [ARGS...]
#   e.g. sudo bench/fresh_ext4.sh bench/contention.sh --runs 3 --servers 8
#
# Makes an ext4 file system with mkfs's defaults (a journal) in an image file
# under /var/tmp (--size, default 4 GiB, sparse), mounts it on a loop device,
# runs BENCH with TMPDIR inside it, then unmounts it and deletes the image.
#
# Why: a decision creates about 20 files (git objects, ref locks, SQLite's
# WAL), so the file system's cost per new inode is part of every claim.  On
# an ext4 without a journal, each new inode is checked against recently
# deleted ones (the kernel's recently_deleted()), and after a day of tests
# that cost about 1 ms of CPU per file here (docs/BENCHMARKS.md).  A fresh
# file system shows coordsync's own cost; running BENCH without this script
# shows the machine's.  Needs root (mount), mkfs.ext4 and a loop device.
set -u

bench_dir=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$bench_dir/lib.sh"
size=4
if [ "${1:-}" = --size ]; then
	[ $# -ge 2 ] || usage_error "--size takes whole GiB"
	size=$2
	shift 2
fi
case ${1:-} in
'') usage 2 "no benchmark given" ;;
-h | --help) usage 0 ;;
esac
need_number "$size"
[ "$(id -u)" -eq 0 ] || { log "$me: needs root (mount)"; exit 1; }

img=$(mktemp /var/tmp/coordsync-bench.XXXXXX.img)
mnt=$(mktemp -d /var/tmp/coordsync-bench.XXXXXX)
cleanup() {
	umount "$mnt" 2>/dev/null
	rmdir "$mnt" 2>/dev/null
	rm -f "$img"
}
trap cleanup EXIT
if ! { truncate -s "${size}G" "$img" && mkfs.ext4 -q -F "$img" && mount -o loop "$img" "$mnt"; }; then
	log "$me: could not make and mount an ext4 image"
	exit 1
fi
mkdir "$mnt/tmp"
log "$me: $(grep " $mnt " /proc/mounts | cut -d' ' -f1-4), TMPDIR=$mnt/tmp"
TMPDIR=$mnt/tmp "$@"
