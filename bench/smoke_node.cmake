# The node benchmark's smoke test: "craft-bench node --quick" exits 0 and prints craft's figures
# (about three seconds). Run as: cmake -DBENCH=<path to craft-bench> -P smoke_node.cmake
execute_process(COMMAND ${BENCH} node --quick
    RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE errors)
if(NOT result EQUAL 0)
    message(FATAL_ERROR "craft-bench node --quick exited with ${result}:\n${output}${errors}")
endif()
set(figures limit.fdatasync.p50 limit.loopback_rtt.p50 node.proposers1.p50.vs_bound
    node.proposers256.copied_bytes_per_entry)
foreach(k 1 16 256)
    list(APPEND figures node.proposers${k} node.proposers${k}.p50 node.proposers${k}.p99)
endforeach()
foreach(figure IN LISTS figures)
    string(REPLACE "." "\\." pattern "${figure}")
    if(NOT output MATCHES "(^|\n)${pattern} [0-9.]+")
        message(FATAL_ERROR "craft-bench node --quick did not print '${figure}':\n${output}")
    endif()
endforeach()
message(STATUS "craft-bench node --quick:\n${output}")
