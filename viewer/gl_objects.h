// RAII owners for OpenGL objects (textures, buffers, vertex arrays, shaders, programs): one type per
// kind, move-only, deleted with the context current. Nothing here creates a context.
#pragma once

#include <epoxy/gl.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace reread::viewer {

// An OpenGL call failed: what was being done and what the driver said.
class GlError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <class Deleter>
class GlObject {
 public:
  GlObject() = default;
  explicit GlObject(GLuint name) : name_(name) {}
  ~GlObject() { reset(); }
  GlObject(GlObject&& o) noexcept : name_(std::exchange(o.name_, 0)) {}
  GlObject& operator=(GlObject&& o) noexcept {
    if (this != &o) {
      reset();
      name_ = std::exchange(o.name_, 0);
    }
    return *this;
  }
  GlObject(const GlObject&) = delete;
  GlObject& operator=(const GlObject&) = delete;

  GLuint get() const { return name_; }
  explicit operator bool() const { return name_ != 0; }
  void reset() {
    if (name_ != 0) Deleter{}(name_);
    name_ = 0;
  }

 private:
  GLuint name_ = 0;
};

struct GlTextureDeleter {
  void operator()(GLuint n) const { glDeleteTextures(1, &n); }
};
struct GlBufferDeleter {
  void operator()(GLuint n) const { glDeleteBuffers(1, &n); }
};
struct GlVertexArrayDeleter {
  void operator()(GLuint n) const { glDeleteVertexArrays(1, &n); }
};
struct GlShaderDeleter {
  void operator()(GLuint n) const { glDeleteShader(n); }
};
struct GlProgramDeleter {
  void operator()(GLuint n) const { glDeleteProgram(n); }
};

using GlTexture = GlObject<GlTextureDeleter>;
using GlBuffer = GlObject<GlBufferDeleter>;
using GlVertexArray = GlObject<GlVertexArrayDeleter>;
using GlShader = GlObject<GlShaderDeleter>;
using GlProgram = GlObject<GlProgramDeleter>;

inline GlTexture make_gl_texture() {
  GLuint n = 0;
  glGenTextures(1, &n);
  if (n == 0) throw GlError("glGenTextures failed");
  return GlTexture(n);
}
inline GlBuffer make_gl_buffer() {
  GLuint n = 0;
  glGenBuffers(1, &n);
  if (n == 0) throw GlError("glGenBuffers failed");
  return GlBuffer(n);
}
inline GlVertexArray make_gl_vertex_array() {
  GLuint n = 0;
  glGenVertexArrays(1, &n);
  if (n == 0) throw GlError("glGenVertexArrays failed");
  return GlVertexArray(n);
}

}  // namespace reread::viewer
