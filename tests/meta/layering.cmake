# Proof that the layer directions in docs/ARCHITECTURE.md are enforced by the build: each probe is
# a one-line source compiled with exactly one layer's include roots. The "forbidden" probes include
# a header of a layer above (or beside) and must fail to compile because the header is not found;
# the "allowed" probes include a header the layer may use and must compile, so a forbidden probe
# cannot pass by failing for another reason. Built on demand by tests/meta/layering_test.sh.

set(_layering_probes
  # name          library            header                          expect
  "base_os        mdevrun_base       os/host.hpp                     forbidden"
  "os_profile     mdevrun_os         profile/profile.hpp             forbidden"
  "profile_os     mdevrun_profile    os/host.hpp                     forbidden"
  "devices_inst   mdevrun_devices    instance/state_file.hpp         forbidden"
  "qemu_inst      mdevrun_qemu       instance/runtime_dir.hpp        forbidden"
  "check_inst     mdevrun_check      instance/supervisor.hpp         forbidden"
  "export_inst    mdevrun_export     instance/runtime_dir.hpp        forbidden"
  "inst_cli       mdevrun_instance   cli/command.hpp                 forbidden"
  "inst_check     mdevrun_instance   check/host_checks.hpp           forbidden"
  "qmp_base       qmp                base/error.hpp                  forbidden"
  "devices_os     mdevrun_devices    os/host.hpp                     allowed"
  "inst_devices   mdevrun_instance   devices/mdev_ensure.hpp         allowed"
  "cli_check      mdevrun_cli        check/host_checks.hpp           allowed")

set(_probe_list "")
foreach(_probe IN LISTS _layering_probes)
  string(REGEX REPLACE " +" ";" _fields "${_probe}")
  list(GET _fields 0 _name)
  list(GET _fields 1 _lib)
  list(GET _fields 2 _header)
  list(GET _fields 3 _expect)
  set(_src ${CMAKE_CURRENT_BINARY_DIR}/layering/${_name}.cpp)
  file(WRITE ${_src}.in "#include \"${_header}\"\n")
  configure_file(${_src}.in ${_src} COPYONLY)
  add_library(layering_probe_${_name} OBJECT EXCLUDE_FROM_ALL ${_src})
  target_link_libraries(layering_probe_${_name} PRIVATE ${_lib})
  list(APPEND _probe_list "layering_probe_${_name}:${_expect}:${_header}")
endforeach()

add_test(NAME layering
         COMMAND ${PROJECT_SOURCE_DIR}/tests/meta/layering_test.sh ${CMAKE_COMMAND}
                 ${CMAKE_BINARY_DIR} ${_probe_list})
# It runs the build tool in this build folder: nothing else may build at the same time.
set_tests_properties(layering PROPERTIES RUN_SERIAL TRUE TIMEOUT 300)
