# Read by cpack for each package, after `cpack -D` overrides: the screen
# depends on the agent of the very version it is built with, also when the
# version is given on cpack's command line (scripts/package.sh --version).
if(CPACK_GENERATOR STREQUAL "DEB" AND NOT CPACK_DEBIAN_MDC_PACKAGE_DEPENDS MATCHES "mdc-agent")
  set(CPACK_DEBIAN_MDC_PACKAGE_DEPENDS "mdc-agent (= ${CPACK_PACKAGE_VERSION}), ${CPACK_DEBIAN_MDC_PACKAGE_DEPENDS}")
endif()
