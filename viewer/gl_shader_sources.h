// The GLSL sources in shaders/, embedded in the binary at build time (server/embed_file.cmake).
#pragma once

#include <string_view>

namespace reread {

std::string_view tile_vertex_shader_source();    // shaders/tile.vert
std::string_view tile_fragment_shader_source();  // shaders/tile.frag
std::string_view annotation_vertex_shader_source();    // shaders/annotation.vert
std::string_view annotation_fragment_shader_source();  // shaders/annotation.frag

}  // namespace reread
