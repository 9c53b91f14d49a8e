# The peer benchmark's smoke test: "craft-bench libraft --quick" exits 0 and prints every figure
# (about a second: 0.25 s or 2,000 commits per point). Built without libraft, it must say so
# and exit 0. Run as: cmake -DBENCH=<path to craft-bench> -P smoke_libraft.cmake
execute_process(COMMAND ${BENCH} libraft --quick
    RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE errors)
if(NOT result EQUAL 0)
    message(FATAL_ERROR "craft-bench libraft --quick exited with ${result}:\n${output}${errors}")
endif()
if(output MATCHES "not built: install libraft-dev")
    message(STATUS "craft-bench libraft --quick: built without libraft:\n${output}")
    return()
endif()
set(figures limit.fdatasync.p50 limit.loopback_rtt.p50)
foreach(k 1 16 256)
    list(APPEND figures libraft.proposers${k} libraft.proposers${k}.p50 libraft.proposers${k}.p99)
endforeach()
foreach(figure IN LISTS figures)
    string(REPLACE "." "\\." pattern "${figure}")
    if(NOT output MATCHES "(^|\n)${pattern} [0-9.]+ [a-z/]+\n")
        message(FATAL_ERROR "craft-bench libraft --quick did not print '${figure}':\n${output}")
    endif()
endforeach()
message(STATUS "craft-bench libraft --quick:\n${output}")
