// Compiling and linking the embedded GLSL programs, with the compiler's log in the error.
#pragma once

#include <string_view>

#include "gl_objects.h"

namespace reread::viewer {

// Needs a current OpenGL 3.3 core context. Throws GlError naming the shader file and quoting the log.
GlProgram link_gl_program(std::string_view vertex_source, const char* vertex_name, std::string_view fragment_source,
                          const char* fragment_name);

}  // namespace reread::viewer
