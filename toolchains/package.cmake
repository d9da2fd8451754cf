# Debian packages (cpack -G DEB): loyalty-agent for the terminals, loyalty-ledger for the central
# team, each with its program, systemd unit, default configuration (a conffile: dpkg never
# overwrites one that was edited) and maintainer scripts from toolchains/deb. Cross builds set
# CPACK_DEBIAN_PACKAGE_ARCHITECTURE in their toolchain file.

# One component per package: NAME is the component, PACKAGE the package and service name,
# CONFIG the file under /etc/PACKAGE. The maintainer scripts get @PACKAGE@, @CONFIG@ and
# @SUMMARY@ (the system user's comment).
# `out` (in the build tree) is `source` compressed as Debian wants its man pages and changelogs:
# gzip -9n, no name and no time stamp in the header, so that a build repeats byte for byte.
function(loyalty_gzip source out)
  add_custom_command(OUTPUT ${out} COMMAND sh -c "gzip -9n -c \"$1\" >\"$2\"" gzip ${source} ${out} DEPENDS ${source}
                     VERBATIM)
endfunction()

function(loyalty_package name)
  cmake_parse_arguments(ARG "" "PACKAGE;CONFIG;DESCRIPTION;SUMMARY" "DOCS;MANPAGES" ${ARGN})
  set(PACKAGE ${ARG_PACKAGE})
  set(CONFIG ${ARG_CONFIG})
  set(SUMMARY ${ARG_SUMMARY})
  set(control ${PROJECT_BINARY_DIR}/deb/${ARG_PACKAGE})
  foreach(script postinst prerm postrm)
    configure_file(${PROJECT_SOURCE_DIR}/toolchains/deb/${script}.in ${control}/${script} @ONLY
                   FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ
                                    WORLD_EXECUTE)
  endforeach()
  file(WRITE ${control}/conffiles "/etc/${ARG_PACKAGE}/${ARG_CONFIG}\n")

  install(FILES ${PROJECT_SOURCE_DIR}/${name}/deploy/${ARG_PACKAGE}.service DESTINATION /lib/systemd/system
          COMPONENT ${name})
  install(FILES ${PROJECT_SOURCE_DIR}/${name}/deploy/${ARG_CONFIG} DESTINATION /etc/${ARG_PACKAGE} COMPONENT ${name})
  install(FILES ${ARG_DOCS} DESTINATION share/doc/${ARG_PACKAGE} COMPONENT ${name})
  install(FILES ${PROJECT_SOURCE_DIR}/${name}/deploy/bash-completion DESTINATION share/bash-completion/completions
          RENAME ${ARG_PACKAGE} COMPONENT ${name})
  install(FILES ${PROJECT_SOURCE_DIR}/toolchains/deb/copyright DESTINATION share/doc/${ARG_PACKAGE} COMPONENT ${name})
  set(compressed ${control}/changelog.gz)
  loyalty_gzip(${PROJECT_BINARY_DIR}/deb/changelog ${control}/changelog.gz)
  install(FILES ${control}/changelog.gz DESTINATION share/doc/${ARG_PACKAGE} COMPONENT ${name})
  foreach(page ${ARG_MANPAGES})
    string(REGEX MATCH "[0-9]$" section ${page})
    loyalty_gzip(${PROJECT_SOURCE_DIR}/docs/man/${page} ${control}/${page}.gz)
    list(APPEND compressed ${control}/${page}.gz)
    install(FILES ${control}/${page}.gz DESTINATION share/man/man${section} COMPONENT ${name})
  endforeach()
  add_custom_target(${ARG_PACKAGE}-docs ALL DEPENDS ${compressed})

  string(TOUPPER ${name} upper)
  set(CPACK_DEBIAN_${upper}_PACKAGE_NAME ${ARG_PACKAGE} PARENT_SCOPE)
  set(CPACK_DEBIAN_${upper}_FILE_NAME DEB-DEFAULT PARENT_SCOPE)
  # useradd (passwd) in the postinst, kill (procps) for the units' ExecReload; deb-systemd-invoke
  # in the maintainer scripts is init-system-helpers', which is essential.
  set(CPACK_DEBIAN_${upper}_PACKAGE_DEPENDS "passwd, procps" PARENT_SCOPE)
  set(CPACK_DEBIAN_${upper}_PACKAGE_SECTION misc PARENT_SCOPE)
  set(CPACK_DEBIAN_${upper}_PACKAGE_CONTROL_EXTRA "${control}/postinst;${control}/prerm;${control}/postrm;${control}/conffiles"
      PARENT_SCOPE)
  # The synopsis, then the long description (its lines at most 80 characters, as Debian policy
  # has them: the DESCRIPTION arguments break their own lines).
  set(CPACK_DEBIAN_${upper}_DESCRIPTION "${ARG_SUMMARY}\n${ARG_DESCRIPTION}" PARENT_SCOPE)
endfunction()

# Who supports the packages: their Maintainer field and the changelog's sign-offs. That is
# whoever builds and ships them to the terminals (a chain's store IT, a POS vendor), so it is a
# setting of the build (or of the environment's LOYALTY_PACKAGE_CONTACT at the first configure),
# with no made-up default: cpack refuses to build packages without it.
set(LOYALTY_PACKAGE_CONTACT "$ENV{LOYALTY_PACKAGE_CONTACT}" CACHE STRING "The packages' maintainer, \"Name <address>\"")
configure_file(${PROJECT_SOURCE_DIR}/toolchains/deb/changelog.in ${PROJECT_BINARY_DIR}/deb/changelog @ONLY)

loyalty_package(agent PACKAGE loyalty-agent CONFIG agent.json
  SUMMARY "Loyalty terminal agent"
  DESCRIPTION "Runs beside the POS application on a checkout terminal: identifies members,\nprices points and VAT-aware redemptions against a signed rulebook, journals\nevery transaction durably in SQLite and syncs with the central ledger."
  DOCS ${PROJECT_SOURCE_DIR}/docs/deploy.md ${PROJECT_SOURCE_DIR}/docs/pos-api.md
  MANPAGES loyalty-agent.8 loyalty-agent.json.5)
loyalty_package(ledger PACKAGE loyalty-ledger CONFIG ledger.json
  SUMMARY "Loyalty central ledger"
  DESCRIPTION "Applies the terminals' journals exactly once over mutual TLS, replays offline\njournals, signs rulebooks and reports the programme's liability for finance."
  DOCS ${PROJECT_SOURCE_DIR}/docs/deploy.md ${PROJECT_SOURCE_DIR}/docs/operations.md
  MANPAGES loyalty-ledger.8)

set(CPACK_PACKAGE_NAME loyalty)
# Each package has its own synopsis (the SUMMARY above): none for the whole project.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "")
set(CPACK_PACKAGE_VENDOR "loyalty")
set(CPACK_PACKAGE_CONTACT "${LOYALTY_PACKAGE_CONTACT}")
set(CPACK_PROJECT_CONFIG_FILE ${PROJECT_SOURCE_DIR}/toolchains/deb/check-contact.cmake)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL agent ledger)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
include(CPack)
