# Installation and the fleet's Debian packages (CPack, one package per
# component): mdc-agent (the vehicle's agent and its tools), mdc (the screen)
# and cad-stub (the backend stub). `cmake --build build --target package` or
# scripts/package.sh writes them to build/packages/.
include(GNUInstallDirs)

set(MDC_UNITDIR /lib/systemd/system)  # Debian 12's systemd unit directory

# Programs
install(TARGETS mdc-agent mdcctl mdc-provision RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT mdc-agent)
install(TARGETS cad-stub cad-edge-watch cadctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT cad-stub)
if(MDC_BUILD_UI)
  install(TARGETS mdc RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT mdc)
endif()

# Services
install(FILES agent/systemd/mdc-agent.service DESTINATION ${MDC_UNITDIR} COMPONENT mdc-agent)
install(FILES server-stub/systemd/cad-stub.service DESTINATION ${MDC_UNITDIR} COMPONENT cad-stub)
if(MDC_BUILD_UI)
  install(FILES mdc/systemd/mdc-screen.service DESTINATION ${MDC_UNITDIR} COMPONENT mdc)
  install(FILES mdc/desktop/mdc.desktop DESTINATION ${CMAKE_INSTALL_DATADIR}/applications COMPONENT mdc)
  install(FILES mdc/desktop/mdc.svg DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps COMPONENT mdc)
endif()

# Manual pages, made from each program's --help by help2man.
find_program(HELP2MAN help2man)
set(MDC_MANPAGES
    "mdc-agent|agent|the MDC edge agent"
    "mdcctl|agent|the MDC agent's command line"
    "mdc-provision|agent|provision an MDC device"
    "cad-stub|server-stub|the CAD backend stub"
    "cad-edge-watch|server-stub|the liveness watch of an edge broker"
    "cadctl|server-stub|the CAD backend stub's command line")
if(MDC_BUILD_UI)
  list(APPEND MDC_MANPAGES "mdc|mdc|the responder's screen")
endif()
set(MDC_MAN_OUTPUTS)
if(HELP2MAN)
  foreach(entry IN LISTS MDC_MANPAGES)
    string(REPLACE "|" ";" parts "${entry}")
    list(GET parts 0 prog)
    list(GET parts 1 dir)
    list(GET parts 2 what)
    set(out ${PROJECT_BINARY_DIR}/man/${prog}.1.gz)
    add_custom_command(
      OUTPUT ${out}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
      COMMAND ${CMAKE_COMMAND} -E env QT_QPA_PLATFORM=offscreen
              ${HELP2MAN} --no-info --no-discard-stderr --section=1 --name=${what}
              --output=${PROJECT_BINARY_DIR}/man/${prog}.1 $<TARGET_FILE:${prog}>
      COMMAND gzip -9nf ${PROJECT_BINARY_DIR}/man/${prog}.1
      DEPENDS ${prog}
      COMMENT "Manual page ${prog}.1"
      VERBATIM)
    list(APPEND MDC_MAN_OUTPUTS ${out})
    if(dir STREQUAL "agent")
      set(comp mdc-agent)
    elseif(dir STREQUAL "server-stub")
      set(comp cad-stub)
    else()
      set(comp mdc)
    endif()
    install(FILES ${out} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT ${comp})
  endforeach()
  add_custom_target(manpages ALL DEPENDS ${MDC_MAN_OUTPUTS})
endif()

# Documentation: the README, the copyright and a Debian changelog per package.
string(TIMESTAMP MDC_CHANGELOG_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
foreach(comp mdc-agent mdc cad-stub)
  if(comp STREQUAL "mdc" AND NOT MDC_BUILD_UI)
    continue()
  endif()
  set(MDC_PACKAGE ${comp})
  configure_file(${PROJECT_SOURCE_DIR}/cmake/deb/changelog.in ${PROJECT_BINARY_DIR}/packaging/${comp}/changelog @ONLY)
  add_custom_command(
    OUTPUT ${PROJECT_BINARY_DIR}/packaging/${comp}/changelog.gz
    COMMAND gzip -9nkf ${PROJECT_BINARY_DIR}/packaging/${comp}/changelog
    DEPENDS ${PROJECT_BINARY_DIR}/packaging/${comp}/changelog
    VERBATIM)
  list(APPEND MDC_CHANGELOGS ${PROJECT_BINARY_DIR}/packaging/${comp}/changelog.gz)
  install(FILES ${PROJECT_BINARY_DIR}/packaging/${comp}/changelog.gz ${PROJECT_SOURCE_DIR}/cmake/deb/copyright
          DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${comp} COMPONENT ${comp})
  install(FILES README.md DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${comp} COMPONENT ${comp})
endforeach()
add_custom_target(changelogs ALL DEPENDS ${MDC_CHANGELOGS})

# The packages
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME mdc)
set(CPACK_PACKAGE_VENDOR "MDC project")
set(CPACK_PACKAGE_CONTACT "MDC maintainers <mdc@example.org>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/packages)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL mdc-agent cad-stub)
if(MDC_BUILD_UI)
  list(APPEND CPACK_COMPONENTS_ALL mdc)
endif()
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)

set(CPACK_DEBIAN_MDC-AGENT_PACKAGE_NAME mdc-agent)
set(CPACK_DEBIAN_MDC-AGENT_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_MDC-AGENT_PACKAGE_RECOMMENDS "gpsd")
set(CPACK_DEBIAN_MDC-AGENT_DESCRIPTION
    "Mobile Data Computer agent for emergency vehicles
The edge agent of an emergency vehicle's Mobile Data Computer. It keeps every
responder action (status, emergency, acknowledgements, calls for service) in
a durable encrypted outbox until the dispatch centre has committed it, and
serves the screen over a local socket. Includes mdcctl and mdc-provision.")
set(CPACK_DEBIAN_MDC-AGENT_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/agent/deb/postinst ${PROJECT_SOURCE_DIR}/agent/deb/prerm
    ${PROJECT_SOURCE_DIR}/agent/deb/postrm)

set(CPACK_DEBIAN_MDC_PACKAGE_NAME mdc)
# Loaded at run time by the QML engine: not found by dpkg-shlibdeps.
# (mdc-agent of the same version is added in CPackProject.cmake, at cpack time.)
set(CPACK_DEBIAN_MDC_PACKAGE_DEPENDS
    "adduser, qml6-module-qtqml, qml6-module-qtqml-models, qml6-module-qtqml-workerscript, qml6-module-qtquick, qml6-module-qtquick-controls, qml6-module-qtquick-layouts, qml6-module-qtquick-templates, qml6-module-qtquick-window, qt6-qpa-plugins")
set(CPACK_DEBIAN_MDC_PACKAGE_RECOMMENDS "fonts-dejavu-core")
set(CPACK_DEBIAN_MDC_DESCRIPTION
    "Mobile Data Computer screen for emergency vehicles
The responder's screen: one-tap status, the emergency button, assignments to
acknowledge, calls for service raised from the field, messages and records
queries. It talks only to the local mdc-agent. The mdc-screen service starts
it on the vehicle's display at boot, without a desktop.")
set(CPACK_DEBIAN_MDC_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/mdc/deb/postinst ${PROJECT_SOURCE_DIR}/mdc/deb/prerm ${PROJECT_SOURCE_DIR}/mdc/deb/postrm)

set(CPACK_DEBIAN_CAD-STUB_PACKAGE_NAME cad-stub)
set(CPACK_DEBIAN_CAD-STUB_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_CAD-STUB_PACKAGE_RECOMMENDS "mosquitto")
set(CPACK_DEBIAN_CAD-STUB_DESCRIPTION
    "Computer Aided Dispatch backend stub for MDC fleets
The dispatch centre's side of the MDC protocol: an append-only, hash-chained
event store on SQLite that acknowledges each device's events after commit,
keeps the board, incidents and downlinks, and answers records queries.
Includes cadctl, the dispatcher's and operator's command line.")
set(CPACK_DEBIAN_CAD-STUB_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/server-stub/deb/postinst ${PROJECT_SOURCE_DIR}/server-stub/deb/prerm
    ${PROJECT_SOURCE_DIR}/server-stub/deb/postrm)

set(CPACK_PROJECT_CONFIG_FILE ${PROJECT_SOURCE_DIR}/cmake/CPackProject.cmake)

include(CPack)
