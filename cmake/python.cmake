# Finds what the Python module needs: a Python 3 whose `torch` is the LibTorch this build links
# (Debian: python3-torch beside libtorch-dev; elsewhere the pip torch whose cmake_prefix_path gave
# Torch_DIR), its libtorch_python, and pybind11 (Debian: pybind11-dev; a pip torch also carries the
# headers). Any missing piece turns UNROLL_WITH_PYTHON off with a message, never fails the configure.
#   -DUNROLL_PYTHON=/path/to/python3   the interpreter to build for (default: the first python3 on PATH
#                                      that imports torch, else /usr/bin/python3)
if(NOT UNROLL_WITH_OPENCV)
  message(STATUS "unroll: no OpenCV: the Python module is built without image files and the harness")
endif()

set(UNROLL_PYTHON "" CACHE FILEPATH "Python 3 interpreter the module is built for (must import torch)")
set(_unroll_py_candidates ${UNROLL_PYTHON})
if(NOT UNROLL_PYTHON)
  find_program(_unroll_path_python3 python3)
  set(_unroll_py_candidates ${_unroll_path_python3} /usr/bin/python3)
endif()
set(_unroll_py "")
foreach(candidate IN LISTS _unroll_py_candidates)
  if(candidate AND NOT _unroll_py)
    execute_process(COMMAND ${candidate} -c "import os, torch; print(os.path.dirname(torch.__file__)); print(torch.__version__)"
                    OUTPUT_VARIABLE _unroll_torch_info RESULT_VARIABLE _unroll_rc ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(_unroll_rc EQUAL 0)
      set(_unroll_py ${candidate})
    endif()
  endif()
endforeach()
if(NOT _unroll_py)
  message(STATUS "unroll: no python3 that imports torch (Debian: python3-torch); the Python module is disabled")
  set(UNROLL_WITH_PYTHON OFF)
  return()
endif()
string(REPLACE "\n" ";" _unroll_torch_info "${_unroll_torch_info}")
list(GET _unroll_torch_info 0 UNROLL_PYTHON_TORCH_DIR)
list(GET _unroll_torch_info 1 UNROLL_PYTHON_TORCH_VERSION)

set(Python3_EXECUTABLE ${_unroll_py})
set(UNROLL_PYTHON_EXECUTABLE ${_unroll_py} CACHE INTERNAL "the interpreter the Python module is built for (scripts/install_python.sh)")
find_package(Python3 COMPONENTS Interpreter Development.Module)
find_package(pybind11 CONFIG QUIET)
if(NOT pybind11_FOUND AND EXISTS ${UNROLL_PYTHON_TORCH_DIR}/include/pybind11/pybind11.h)
  set(UNROLL_PYBIND11_INCLUDE ${UNROLL_PYTHON_TORCH_DIR}/include)  # a pip torch ships the headers
endif()
find_library(UNROLL_TORCH_PYTHON_LIBRARY torch_python HINTS ${UNROLL_PYTHON_TORCH_DIR}/lib NO_DEFAULT_PATH)
if(NOT UNROLL_TORCH_PYTHON_LIBRARY)
  find_library(UNROLL_TORCH_PYTHON_LIBRARY torch_python)
endif()
if(NOT Python3_Development.Module_FOUND OR NOT (pybind11_FOUND OR UNROLL_PYBIND11_INCLUDE) OR NOT UNROLL_TORCH_PYTHON_LIBRARY)
  message(STATUS "unroll: the Python module needs python3-dev, pybind11-dev and torch's libtorch_python "
                 "(found: dev=${Python3_Development.Module_FOUND} pybind11=${pybind11_FOUND} "
                 "torch_python=${UNROLL_TORCH_PYTHON_LIBRARY}); disabled")
  set(UNROLL_WITH_PYTHON OFF)
  return()
endif()
# The module is loaded into a process where `import torch` already loaded that torch's libraries: the
# two must be one LibTorch (1.13.0a0 from python3-torch and 1.13.1 from libtorch-dev are one Debian build).
string(REGEX MATCH "^[0-9]+\\.[0-9]+" _unroll_py_mm "${UNROLL_PYTHON_TORCH_VERSION}")
string(REGEX MATCH "^[0-9]+\\.[0-9]+" _unroll_cpp_mm "${Torch_VERSION}")
if(_unroll_cpp_mm AND NOT _unroll_py_mm STREQUAL _unroll_cpp_mm)
  message(STATUS "unroll: ${_unroll_py} has torch ${UNROLL_PYTHON_TORCH_VERSION}, this build links LibTorch "
                 "${Torch_VERSION}; configure with -DTorch_DIR=$(python3 -c 'import torch.utils; "
                 "print(torch.utils.cmake_prefix_path)')/Torch. The Python module is disabled")
  set(UNROLL_WITH_PYTHON OFF)
  return()
endif()
message(STATUS "unroll: Python module for ${_unroll_py} (torch ${UNROLL_PYTHON_TORCH_VERSION} in ${UNROLL_PYTHON_TORCH_DIR})")
