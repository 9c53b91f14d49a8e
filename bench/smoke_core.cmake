# The benchmark's smoke test: "craft-bench core --quick" exits 0 and prints the three figures.
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
message(STATUS "craft-bench core --quick:\n${output}")
