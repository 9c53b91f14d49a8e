# The benchmark's smoke test: "craft-bench core --quick" exits 0 and prints every figure, the
# snapshot install (a 4 MiB snapshot, once) with its limit and ratio.
# Run as: cmake -DBENCH=<path to craft-bench> -P smoke_core.cmake
execute_process(COMMAND ${BENCH} core --quick
    RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE errors)
if(NOT result EQUAL 0)
    message(FATAL_ERROR "craft-bench core --quick exited with ${result}:\n${output}${errors}")
endif()
foreach(figure core.one_writer core.batch64 core.batch1024 core.change_add_voter_rounds
        core.change_add_voter_us core.change_joint_rounds core.change_joint_us)
    string(REPLACE "." "\\." pattern "${figure}")
    if(NOT output MATCHES "(^|\n)${pattern} [0-9]+ [a-z/]+\n")
        message(FATAL_ERROR "craft-bench core --quick did not print '${figure}':\n${output}")
    endif()
endforeach()
# Canonical raft beside each throughput figure, when craft-bench was built with libraft.
if(WITH_LIBRAFT)
    foreach(figure core.one_writer core.batch64 core.batch1024)
        string(REPLACE "." "\\." pattern "${figure}")
        if(NOT output MATCHES "(^|\n)${pattern}\\.libraft [0-9]+ [a-z/]+\n" OR
           NOT output MATCHES "(^|\n)${pattern}\\.vs_libraft [0-9.]+\n")
            message(FATAL_ERROR "craft-bench core --quick did not print '${figure}' beside libraft:\n${output}")
        endif()
    endforeach()
endif()
foreach(figure core.snapshot_install.mb_per_s core.snapshot_install.limit_mb_per_s
        core.snapshot_install.file_mb)
    string(REPLACE "." "\\." pattern "${figure}")
    if(NOT output MATCHES "(^|\n)${pattern} [0-9.]+ [A-Za-z/]+\n")
        message(FATAL_ERROR "craft-bench core --quick did not print '${figure}':\n${output}")
    endif()
endforeach()
if(NOT output MATCHES "(^|\n)core\\.snapshot_install\\.ratio [0-9.]+\n")
    message(FATAL_ERROR "craft-bench core --quick did not print the install's ratio:\n${output}")
endif()
message(STATUS "craft-bench core --quick:\n${output}")
