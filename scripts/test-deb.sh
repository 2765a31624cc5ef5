#!/usr/bin/env bash
# Proves the Debian package installs where nothing of the build is: a clean Debian 12 root
# (debootstrap --variant=minbase), `apt-get install ./backprop_*.deb` in it (chroot), then
# backprop --version, a one-epoch train on MNIST files copied in, `import backprop` from
# python3 (with python3-numpy, when the package has the module), and `apt-get remove
# --purge` + autoremove leave the root's file list as it was. Run as root; .ci/run calls it.
#   scripts/test-deb.sh DEB MNIST_DIR
# The bare root is made once and kept as a tarball in $BACKPROP_DEB_ROOT_CACHE (default
# /var/cache/backprop/bookworm-minbase.tar); downloaded .debs are kept beside it, so a warm
# run needs the network only for apt's indexes.
set -euo pipefail
deb=$(realpath "$1")
data=$(realpath "$2")
cache=${BACKPROP_DEB_ROOT_CACHE:-/var/cache/backprop/bookworm-minbase.tar}
mirror=${BACKPROP_DEB_MIRROR:-http://deb.debian.org/debian}
[[ $(id -u) -eq 0 ]] || { echo "test-deb: must run as root (debootstrap, chroot)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "test-deb: needs debootstrap (apt-get install debootstrap)" >&2; exit 1; }

start=$SECONDS
mkdir -p "$(dirname "$cache")/archives/partial"
if [[ ! -s $cache ]]; then
  echo "test-deb: making the Debian 12 minbase root (once; cached in $cache)"
  tmp=$(mktemp -d)
  debootstrap --variant=minbase bookworm "$tmp/root" "$mirror" >"$tmp/debootstrap.log" 2>&1 ||
    { tail -20 "$tmp/debootstrap.log" >&2; exit 1; }
  rm -rf "$tmp/root/var/cache/apt/archives/"*.deb
  tar -C "$tmp/root" -cf "$cache.part" . && mv "$cache.part" "$cache"
  rm -rf --one-file-system "$tmp"
  echo "test-deb: root made in $((SECONDS - start)) s"
fi

work=$(mktemp -d)
root=$work/root
cleanup() {
  for m in var/cache/apt/archives proc; do mountpoint -q "$root/$m" && umount -l "$root/$m"; done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
mkdir "$root"
tar -C "$root" -xf "$cache"
# The root keeps its own device nodes (debootstrap made them, tar kept them): the host's /dev
# is not mounted in it, so nothing in the root can touch it.
mount -t proc proc "$root/proc"
mount --bind "$(dirname "$cache")/archives" "$root/var/cache/apt/archives"
cp /etc/resolv.conf "$root/etc/resolv.conf"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive "$@"; }

# What the root holds before the package (apt's and dpkg's own state aside).
listing() {
  (cd "$root" && find . -xdev \( -path ./proc -o -path ./dev -o -path ./tmp -o -path ./var/cache -o -path ./var/lib/apt \
    -o -path ./var/lib/dpkg -o -path ./var/log -o -path ./root -o -path ./etc/ld.so.cache -o -path ./run \) -prune \
    -o -path './etc/*-' -o -print | sort)  # etc/gshadow- and the like: backups a dependency's groupadd leaves
}
in_root apt-get update -qq
listing >"$work/before"

cp "$deb" "$root/tmp/"
echo "== test-deb: apt-get install ./$(basename "$deb") =="
in_root apt-get install -y -qq --no-install-recommends "/tmp/$(basename "$deb")" >"$work/install.log" 2>&1 ||
  { tail -30 "$work/install.log" >&2; exit 1; }
grep -E '^(Setting up|Unpacking) ' "$work/install.log" | wc -l | xargs echo "packages set up:"
in_root dpkg -s backprop | grep -E '^(Version|Section|Depends):'
in_root backprop --version
test -f "$root/usr/share/man/man1/backprop-train.1.gz"
test -f "$root/usr/share/bash-completion/completions/backprop"

mkdir "$root/tmp/mnist"
cp "$data"/{train,t10k}-{images-idx3,labels-idx1}-ubyte* "$root/tmp/mnist/"
echo "== test-deb: one epoch in the root =="
in_root backprop train --preset seed --epochs 1 --data /tmp/mnist --no-fetch --out /tmp/seed.model | tail -2
in_root backprop eval --model /tmp/seed.model --data /tmp/mnist --no-fetch | tee "$work/eval.txt" | head -3
awk '/^accuracy/ {found = 1; if ($2 < 0.9) exit 1} END {exit !found}' "$work/eval.txt" ||
  { echo "test-deb: the packaged program trained below 90% (or printed no accuracy)" >&2; exit 1; }

# The Python module, where the package has one: Debian's python3 finds it with no PYTHONPATH.
removed=backprop
# (grep without -q reads the whole listing: an early exit would kill dpkg-deb, failing the pipe)
if dpkg-deb -c "$deb" | grep '/usr/lib/python3/dist-packages/backprop/__init__.py' >/dev/null; then
  echo "== test-deb: import backprop (with python3-numpy) =="
  in_root apt-get install -y -qq --no-install-recommends python3-numpy >>"$work/install.log" 2>&1 ||
    { tail -30 "$work/install.log" >&2; exit 1; }
  in_root env PYTHONDONTWRITEBYTECODE=1 python3 -c \
    'import backprop; print(backprop.__file__); print(backprop.Network([784, 64, 10]))'
  removed="backprop python3-numpy"
fi

echo "== test-deb: apt-get remove --purge, then autoremove =="
# shellcheck disable=SC2086  # the package names
in_root apt-get remove --purge -y -qq $removed >"$work/remove.log" 2>&1
in_root apt-get autoremove --purge -y -qq >>"$work/remove.log" 2>&1
listing >"$work/after"
if ! diff "$work/before" "$work/after"; then
  echo "test-deb: the root differs after remove (above: < gone, > left behind)" >&2
  exit 1
fi
echo "test-deb: installed, ran and removed cleanly in $((SECONDS - start)) s"
