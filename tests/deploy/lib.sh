# shellcheck shell=sh
# Shared by the deploy tests (upgrade-test, boot-test), which source it from the repository's
# root: the tools they need, the packages of a source tree, and a minimal Debian root.
# Each test defines fail() before sourcing this.

# debootstrap for the scratch root; file and dpkg-shlibdeps (dpkg-dev) for CPack's Depends;
# systemd-nspawn (systemd-container) to boot the root.
deploy_tools() {
  scripts/install-deps
  if ! command -v debootstrap >/dev/null || ! command -v file >/dev/null ||
    ! command -v dpkg-shlibdeps >/dev/null || ! command -v systemd-nspawn >/dev/null; then
    apt-get install -y -qq --no-install-recommends debootstrap file dpkg-dev systemd-container >/dev/null
  fi
}

# Builds the Debian packages of a source tree into OUT_DIR, maintained by LOYALTY_PACKAGE_CONTACT
# (the tests' own address, in the reserved .test domain, unless the environment names one).
package() {  # SOURCE_DIR BUILD_DIR OUT_DIR
  cmake -S "$1" -B "$2" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLOYALTY_BUILD_TESTS=OFF \
    -DLOYALTY_BUILD_BENCH=OFF \
    -DLOYALTY_PACKAGE_CONTACT="${LOYALTY_PACKAGE_CONTACT:-Loyalty deploy tests <deploy-tests@loyalty.test>}" >/dev/null
  cmake --build "$2" >/dev/null
  rm -rf "$3" && mkdir -p "$3"
  (cd "$2" && cpack -G DEB -B "$3" >/dev/null)
  rm -rf "$3/_CPack_Packages"
}

# A minimal bookworm (debootstrap --variant=minbase) in DIR, made once and kept: the packages'
# dependencies beyond it (dpkg -i, unlike apt, installs none), and systemd to boot it. It has
# no udev, as a terminal image built for the purpose may not.
debian_base() {  # DIR
  include=libsqlite3-0,libssl3,libpq5,procps,systemd,systemd-sysv,dbus
  if [ ! -f "$1/.complete-$include" ]; then
    echo "debootstrap of a minimal bookworm into $1" >&2
    rm -rf "$1" "$1-tmp"
    mkdir -p "$(dirname "$1")"
    debootstrap --variant=minbase --include="$include" bookworm "$1-tmp" \
      http://deb.debian.org/debian >"$1.log" 2>&1 || fail "debootstrap (see $1.log)"
    mv "$1-tmp" "$1"
    touch "$1/.complete-$include"
  fi
}
