// GLSL compile and link through libepoxy.
#include "gl_shader_compiler.h"

#include <array>
#include <string>

namespace reread::viewer {
namespace {

GlShader compile(GLenum kind, std::string_view source, const char* name) {
  GlShader shader(glCreateShader(kind));
  if (!shader) throw GlError(std::string("glCreateShader failed for ") + name);
  const char* text = source.data();
  const auto length = static_cast<GLint>(source.size());
  glShaderSource(shader.get(), 1, &text, &length);
  glCompileShader(shader.get());
  GLint ok = GL_FALSE;
  glGetShaderiv(shader.get(), GL_COMPILE_STATUS, &ok);
  if (ok != GL_TRUE) {
    std::array<char, 4096> log{};
    glGetShaderInfoLog(shader.get(), static_cast<GLsizei>(log.size()), nullptr, log.data());
    throw GlError(std::string("compiling ") + name + ": " + log.data());
  }
  return shader;
}

}  // namespace

GlProgram link_gl_program(std::string_view vertex_source, const char* vertex_name, std::string_view fragment_source,
                          const char* fragment_name) {
  const GlShader vertex = compile(GL_VERTEX_SHADER, vertex_source, vertex_name);
  const GlShader fragment = compile(GL_FRAGMENT_SHADER, fragment_source, fragment_name);
  GlProgram program(glCreateProgram());
  if (!program) throw GlError("glCreateProgram failed");
  glAttachShader(program.get(), vertex.get());
  glAttachShader(program.get(), fragment.get());
  glLinkProgram(program.get());
  GLint ok = GL_FALSE;
  glGetProgramiv(program.get(), GL_LINK_STATUS, &ok);
  if (ok != GL_TRUE) {
    std::array<char, 4096> log{};
    glGetProgramInfoLog(program.get(), static_cast<GLsizei>(log.size()), nullptr, log.data());
    throw GlError(std::string("linking ") + vertex_name + " and " + fragment_name + ": " + log.data());
  }
  return program;
}

}  // namespace reread::viewer
