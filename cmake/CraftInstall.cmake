# The installed craft: the layer libraries of CRAFT_LIBRARY_LAYERS (top-level CMakeLists.txt)
# combined into one static library (libcraft.a) and one shared library (libcraft.so, soname
# libcraft.so.<major>, both from PROJECT_VERSION), the public headers (every include/craft/*.h at
# install time) and lib/pkgconfig/craft.pc. `cmake --install <build> --prefix <dir>` and
# `make install PREFIX=<dir>` put them under <dir>; tests/install checks the result.
include(GNUInstallDirs)

set(craft_objects "")
foreach(layer IN LISTS CRAFT_LIBRARY_LAYERS)
    if(NOT TARGET ${layer})
        continue() # a layer with no sources yet
    endif()
    # The shared library is made of the very objects of the layer libraries, so they are
    # position-independent (what Debian's toolchain does for executables anyway).
    set_target_properties(${layer} PROPERTIES POSITION_INDEPENDENT_CODE ON)
    list(APPEND craft_objects $<TARGET_OBJECTS:${layer}>)
endforeach()

add_library(craft_static STATIC ${craft_objects})
set_target_properties(craft_static PROPERTIES OUTPUT_NAME craft)

add_library(craft_shared SHARED ${craft_objects})
set_target_properties(craft_shared PROPERTIES
    OUTPUT_NAME craft
    VERSION ${PROJECT_VERSION}
    SOVERSION ${PROJECT_VERSION_MAJOR})
target_link_libraries(craft_shared PRIVATE Threads::Threads)
if(craft_libuv)
    target_link_libraries(craft_shared PRIVATE ${craft_libuv})
endif()
if(NOT CRAFT_SANITIZE AND NOT CRAFT_TSAN)
    # Every symbol the library uses is defined in it or in what it links (the sanitizer runtime
    # is linked into programs only, so a sanitized build cannot say this of itself).
    target_link_options(craft_shared PRIVATE -Wl,--no-undefined)
endif()

install(TARGETS craft_static craft_shared
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/craft/
    DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/craft
    FILES_MATCHING PATTERN "*.h")

# craft.pc names the prefix the install goes to, which `cmake --install --prefix` may change
# after configuring: so it is written at install time (cmake/CraftPkgConfig.cmake).
install(CODE "
    set(CRAFT_PC_TEMPLATE \"${PROJECT_SOURCE_DIR}/cmake/craft.pc.in\")
    set(CRAFT_PC_BUILD \"${PROJECT_BINARY_DIR}/craft.pc\")
    set(CRAFT_PC_VERSION \"${PROJECT_VERSION}\")
    set(CRAFT_PC_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
    set(CRAFT_PC_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
    include(\"${PROJECT_SOURCE_DIR}/cmake/CraftPkgConfig.cmake\")
")
