# The BLAS and LAPACK mahal links: OpenBLAS's OpenMP build where one is installed.
#
# The library runs its own loops on OpenMP's thread team. OpenBLAS's OpenMP build runs its GEMMs
# on that same team: one called between the library's parallel regions uses every core, one
# called inside a region runs on that region's thread. The pthreads build keeps a second pool
# that fights the team for the cores (its threads and the team's, spinning after a region, take
# turns on the same cores), so with it the solvers hold OpenBLAS at one thread while they run
# (src/blas_threads.hpp). Debian installs both builds side by side (libopenblas-openmp-dev,
# libopenblas-pthread-dev) and points the plain libopenblas.so at the pthreads one, so the OpenMP
# build is named here by its folder; FindBLAS and FindLAPACK are the fallback.
#
# Defines the targets BLAS::BLAS and LAPACK::LAPACK; used by the build and by mahalConfig.cmake,
# both of which set MAHAL_OPENMP_BLAS first.
if(MAHAL_OPENMP_BLAS AND NOT TARGET BLAS::BLAS)
  find_library(MAHAL_OPENBLAS_OPENMP_LIBRARY NAMES openblas NO_DEFAULT_PATH
               PATHS /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp)
  if(MAHAL_OPENBLAS_OPENMP_LIBRARY)
    # OpenBLAS holds LAPACK too: one library behind both targets.
    foreach(target IN ITEMS BLAS::BLAS LAPACK::LAPACK)
      add_library(${target} INTERFACE IMPORTED)
      set_target_properties(${target} PROPERTIES
        INTERFACE_LINK_LIBRARIES "${MAHAL_OPENBLAS_OPENMP_LIBRARY}")
    endforeach()
  endif()
endif()
if(NOT TARGET BLAS::BLAS)
  set(BLA_VENDOR OpenBLAS)
  find_package(BLAS REQUIRED)
  find_package(LAPACK REQUIRED)
endif()
