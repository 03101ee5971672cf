// Compiling the tile shaders and streaming quads to them.
#include "gl_tile_program.h"

#include <array>
#include <string>

#include "gl_shader_compiler.h"
#include "gl_shader_sources.h"

namespace reread::viewer {

GlTileProgram::GlTileProgram()
    : program_(link_gl_program(tile_vertex_shader_source(), "shaders/tile.vert", tile_fragment_shader_source(),
                               "shaders/tile.frag")),
      vertex_array_(make_gl_vertex_array()),
      vertex_buffer_(make_gl_buffer()) {
  slide_to_clip_ = glGetUniformLocation(program_.get(), "slide_to_clip");
  tile_ = glGetUniformLocation(program_.get(), "tile");
  brightness_ = glGetUniformLocation(program_.get(), "brightness");
  contrast_ = glGetUniformLocation(program_.get(), "contrast");
  gamma_ = glGetUniformLocation(program_.get(), "gamma");
  framebuffer_srgb_uniform_ = glGetUniformLocation(program_.get(), "framebuffer_srgb");

  glBindVertexArray(vertex_array_.get());
  glBindBuffer(GL_ARRAY_BUFFER, vertex_buffer_.get());
  glEnableVertexAttribArray(0);
  glVertexAttribPointer(0, 2, GL_FLOAT, GL_FALSE, 4 * sizeof(float), nullptr);
  glEnableVertexAttribArray(1);
  glVertexAttribPointer(1, 2, GL_FLOAT, GL_FALSE, 4 * sizeof(float),
                        reinterpret_cast<const void*>(2 * sizeof(float)));  // NOLINT: GL's offset convention
  glBindVertexArray(0);
  glBindBuffer(GL_ARRAY_BUFFER, 0);

  // The default framebuffer's back buffer: sRGB-capable windows let the hardware encode linear light.
  GLint encoding = GL_LINEAR;
  glBindFramebuffer(GL_FRAMEBUFFER, 0);
  glGetFramebufferAttachmentParameteriv(GL_FRAMEBUFFER, GL_BACK_LEFT, GL_FRAMEBUFFER_ATTACHMENT_COLOR_ENCODING,
                                        &encoding);
  framebuffer_srgb_ = encoding == GL_SRGB;
  const GLenum error = glGetError();
  if (error != GL_NO_ERROR) throw GlError("setting up the tile program: GL error " + std::to_string(error));
}

void GlTileProgram::draw(const std::vector<TileQuad>& quads, const Camera& camera, const GlViewport& viewport,
                         const DisplayAdjustments& adjustments) {
  if (quads.empty() || viewport.width <= 0 || viewport.height <= 0) return;

  const Vec2 c = camera.center;
  const std::array<float, 9> m = slide_to_clip_matrix(camera);

  vertices_.clear();
  vertices_.reserve(quads.size() * 24);
  for (const TileQuad& q : quads) {
    const auto x0 = static_cast<float>(q.dest.x0 - c.x), x1 = static_cast<float>(q.dest.x1 - c.x);
    const auto y0 = static_cast<float>(q.dest.y0 - c.y), y1 = static_cast<float>(q.dest.y1 - c.y);
    const float v[24] = {x0, y0, q.u0, q.v0, x1, y0, q.u1, q.v0, x1, y1, q.u1, q.v1,
                         x0, y0, q.u0, q.v0, x1, y1, q.u1, q.v1, x0, y1, q.u0, q.v1};
    vertices_.insert(vertices_.end(), std::begin(v), std::end(v));
  }

  glViewport(viewport.x, viewport.y, viewport.width, viewport.height);
  glEnable(GL_SCISSOR_TEST);
  glScissor(viewport.x, viewport.y, viewport.width, viewport.height);
  glDisable(GL_BLEND);
  glDisable(GL_DEPTH_TEST);
  glDisable(GL_CULL_FACE);
  if (framebuffer_srgb_) glEnable(GL_FRAMEBUFFER_SRGB);

  glUseProgram(program_.get());
  glUniformMatrix3fv(slide_to_clip_, 1, GL_FALSE, m.data());
  glUniform1i(tile_, 0);
  glUniform1f(brightness_, adjustments.brightness);
  glUniform1f(contrast_, adjustments.contrast);
  glUniform1f(gamma_, adjustments.gamma);
  glUniform1i(framebuffer_srgb_uniform_, framebuffer_srgb_ ? 1 : 0);

  glBindVertexArray(vertex_array_.get());
  glBindBuffer(GL_ARRAY_BUFFER, vertex_buffer_.get());
  glBufferData(GL_ARRAY_BUFFER, static_cast<GLsizeiptr>(vertices_.size() * sizeof(float)), vertices_.data(),
               GL_STREAM_DRAW);
  glActiveTexture(GL_TEXTURE0);
  for (std::size_t i = 0; i < quads.size(); ++i) {
    glBindTexture(GL_TEXTURE_2D, quads[i].texture);
    glDrawArrays(GL_TRIANGLES, static_cast<GLint>(i * 6), 6);
  }
  glBindTexture(GL_TEXTURE_2D, 0);
  glBindVertexArray(0);
  glBindBuffer(GL_ARRAY_BUFFER, 0);
  glUseProgram(0);
  // ImGui draws sRGB-encoded colours as they are.
  glDisable(GL_FRAMEBUFFER_SRGB);
  glDisable(GL_SCISSOR_TEST);
}

}  // namespace reread::viewer
