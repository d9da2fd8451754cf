# Shared part of the terminal toolchains: Debian's cross compilers for LOYALTY_TRIPLET, the
# libraries of Debian's multiarch packages for that architecture (/usr/lib/<triplet>), and
# qemu-user to run what the build made (tests and doctest's test discovery) on this machine.
#
# Install what it needs with toolchains/cross-test --install-only.

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${LOYALTY_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${LOYALTY_TRIPLET}-g++)
set(CMAKE_STRIP ${LOYALTY_TRIPLET}-strip)

# Multiarch: headers are shared under /usr/include (plus /usr/include/<triplet>), libraries and
# CMake package files live under /usr/lib/<triplet>. The host's own /usr/lib/x86_64-linux-gnu is
# never searched because the library architecture names the target.
set(CMAKE_LIBRARY_ARCHITECTURE ${LOYALTY_TRIPLET})
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${LOYALTY_TRIPLET}/pkgconfig:/usr/share/pkgconfig")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)

# The target's dynamic loader and libraries are installed on this machine by the multiarch
# packages, so qemu finds them with its default prefix (/).
find_program(LOYALTY_QEMU qemu-${LOYALTY_QEMU_ARCH} REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR ${LOYALTY_QEMU})
