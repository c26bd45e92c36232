# Warnings for host (g++) and device (nvcc) code of one target; errors when
# MAHAL_WARNINGS_AS_ERRORS is on.
function(mahal_set_warnings target)
  set(host_flags -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    # Clang reports `omp simd` loops it leaves scalar (e.g. under the sanitizers); they are
    # hints for speed, not for correctness.
    list(APPEND host_flags -Wno-pass-failed)
  endif()
  if(MAHAL_WARNINGS_AS_ERRORS)
    list(APPEND host_flags -Werror)
  endif()
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:${host_flags}>
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra $<$<BOOL:${MAHAL_WARNINGS_AS_ERRORS}>:-Werror=all-warnings>>)
endfunction()
