# 32-bit ARM terminals with hardware floating point (Debian armhf):
# cmake -DCMAKE_TOOLCHAIN_FILE=toolchains/arm-linux-gnueabihf.cmake
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(LOYALTY_TRIPLET arm-linux-gnueabihf)
set(LOYALTY_QEMU_ARCH arm)
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE armhf)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
