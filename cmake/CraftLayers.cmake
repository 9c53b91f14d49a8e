# Reads tools/layers.txt and gives each layer library a private include directory holding only
# what that layer may use: a link to src/<layer> for itself and each allowed lower layer, and a
# craft/ directory with links to the public headers whose owner it may use. Nothing else of src/
# or include/ is on the layer's include path, so an include of a forbidden layer does not compile.
# (A path that climbs out with "../" still resolves beside the file; tools/check_layers.sh catches
# that from the dependencies the compiler records, and hand-written prototypes from the symbols.)

# A change to the table reconfigures, so the views follow it.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tools/layers.txt)
file(STRINGS ${PROJECT_SOURCE_DIR}/tools/layers.txt craft_layer_lines REGEX "^(layer|public) ")
set(CRAFT_LAYERS "")
foreach(line IN LISTS craft_layer_lines)
    string(REGEX REPLACE "[ \t]+" ";" words "${line}")
    list(POP_FRONT words kind name)
    if(kind STREQUAL "layer")
        list(APPEND CRAFT_LAYERS ${name})
        set(CRAFT_LAYER_USES_${name} ${words})
    else()
        list(APPEND CRAFT_PUBLIC_HEADERS ${name})
        set(CRAFT_PUBLIC_OWNER_${name} ${words})
    endif()
endforeach()

# craft_layer_includes(<target> <layer>): the target is built with layer's view of the tree only.
function(craft_layer_includes target layer)
    if(NOT layer IN_LIST CRAFT_LAYERS)
        message(FATAL_ERROR "layer '${layer}' is not in tools/layers.txt")
    endif()
    set(view ${PROJECT_BINARY_DIR}/layer-include/${layer})
    set(uses ${layer} ${CRAFT_LAYER_USES_${layer}})
    file(REMOVE_RECURSE ${view})
    file(MAKE_DIRECTORY ${view}/craft)
    foreach(used IN LISTS uses)
        file(CREATE_LINK ${PROJECT_SOURCE_DIR}/src/${used} ${view}/${used} SYMBOLIC)
    endforeach()
    foreach(header IN LISTS CRAFT_PUBLIC_HEADERS)
        if(CRAFT_PUBLIC_OWNER_${header} IN_LIST uses)
            file(CREATE_LINK ${PROJECT_SOURCE_DIR}/include/craft/${header} ${view}/craft/${header}
                SYMBOLIC)
        endif()
    endforeach()
    target_include_directories(${target} PRIVATE ${view})
endfunction()
