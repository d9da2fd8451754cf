# Run by cpack before it builds a package (CPACK_PROJECT_CONFIG_FILE): a package names who
# supports it.
if(NOT CPACK_PACKAGE_CONTACT MATCHES "^[^<>]+ <[^<>@ ]+@[^<>@ ]+\\.[^<>@ ]+>$")
  message(FATAL_ERROR "the packages need a maintainer: configure with "
                      "-DLOYALTY_PACKAGE_CONTACT=\"Name <address>\" (whoever supports these packages "
                      "on the terminals), not \"${CPACK_PACKAGE_CONTACT}\"")
endif()
