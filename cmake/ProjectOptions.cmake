# Compiler settings for project code. Targets opt in by linking mdc_options;
# generated code (protobuf, Qt's moc/qmlcache) does not.
add_library(mdc_options INTERFACE)
target_compile_options(mdc_options INTERFACE -Wall -Wextra -Wpedantic)
if(MDC_WERROR)
  target_compile_options(mdc_options INTERFACE -Werror)
endif()

if(MDC_SANITIZE)
  # Applied to every target (including generated code and tests) so that
  # instrumented and uninstrumented code never share a container.
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()
