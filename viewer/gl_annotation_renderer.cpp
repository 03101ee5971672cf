// Uploading outline vertices and drawing them with shaders/annotation.*.
#include "gl_annotation_renderer.h"

#include <array>
#include <string>

#include "gl_shader_compiler.h"
#include "gl_shader_sources.h"

namespace reread::viewer {

GlAnnotationRenderer::GlAnnotationRenderer()
    : program_(link_gl_program(annotation_vertex_shader_source(), "shaders/annotation.vert",
                               annotation_fragment_shader_source(), "shaders/annotation.frag")),
      vertex_array_(make_gl_vertex_array()),
      vertex_buffer_(make_gl_buffer()) {
  slide_to_clip_ = glGetUniformLocation(program_.get(), "slide_to_clip");
  shift_ = glGetUniformLocation(program_.get(), "shift");
  pixel_offset_ = glGetUniformLocation(program_.get(), "pixel_offset");
  glBindVertexArray(vertex_array_.get());
  glBindBuffer(GL_ARRAY_BUFFER, vertex_buffer_.get());
  glEnableVertexAttribArray(0);
  glVertexAttribPointer(0, 2, GL_FLOAT, GL_FALSE, sizeof(OutlineVertex), nullptr);
  glEnableVertexAttribArray(1);
  glVertexAttribPointer(1, 4, GL_UNSIGNED_BYTE, GL_TRUE, sizeof(OutlineVertex),
                        reinterpret_cast<const void*>(2 * sizeof(float)));  // NOLINT: GL's offset convention
  glBindVertexArray(0);
  glBindBuffer(GL_ARRAY_BUFFER, 0);
  const GLenum error = glGetError();
  if (error != GL_NO_ERROR) throw GlError("setting up the annotation program: GL error " + std::to_string(error));
}

void GlAnnotationRenderer::draw(const AnnotationOutlines& outlines, const std::vector<OutlineRange>& ranges,
                                const Camera& camera, const GlViewport& viewport) {
  if (viewport.width <= 0 || viewport.height <= 0) return;
  glBindVertexArray(vertex_array_.get());
  glBindBuffer(GL_ARRAY_BUFFER, vertex_buffer_.get());
  if (uploaded_from_ != &outlines || uploaded_generation_ != outlines.generation()) {
    const auto& v = outlines.vertices();
    glBufferData(GL_ARRAY_BUFFER, static_cast<GLsizeiptr>(v.size() * sizeof(OutlineVertex)), v.data(), GL_STATIC_DRAW);
    uploaded_from_ = &outlines;
    uploaded_generation_ = outlines.generation();
  }
  if (!ranges.empty()) {
    firsts_.clear();
    counts_.clear();
    for (const OutlineRange& r : ranges) {
      firsts_.push_back(r.first);
      counts_.push_back(r.count);
    }
    glViewport(viewport.x, viewport.y, viewport.width, viewport.height);
    glEnable(GL_SCISSOR_TEST);
    glScissor(viewport.x, viewport.y, viewport.width, viewport.height);
    glEnable(GL_BLEND);
    glBlendFunc(GL_SRC_ALPHA, GL_ONE_MINUS_SRC_ALPHA);
    glDisable(GL_FRAMEBUFFER_SRGB);
    glUseProgram(program_.get());
    const std::array<float, 9> m = slide_to_clip_matrix(camera);
    glUniformMatrix3fv(slide_to_clip_, 1, GL_FALSE, m.data());
    const Vec2 origin = outlines.origin();
    glUniform2f(shift_, static_cast<float>(origin.x - camera.center.x), static_cast<float>(origin.y - camera.center.y));
    // A two-pixel brush: the strips drawn at (0,0), (1,0), (0,1) and (1,1) pixels (wide lines are not core GL).
    const float px = 2.0f / static_cast<float>(viewport.width), py = 2.0f / static_cast<float>(viewport.height);
    for (const auto& [ox, oy] : std::array<std::array<float, 2>, 4>{{{0, 0}, {1, 0}, {0, 1}, {1, 1}}}) {
      glUniform2f(pixel_offset_, ox * px, -oy * py);
      glMultiDrawArrays(GL_LINE_STRIP, firsts_.data(), counts_.data(), static_cast<GLsizei>(firsts_.size()));
    }
    glUseProgram(0);
    glDisable(GL_BLEND);
    glDisable(GL_SCISSOR_TEST);
  }
  glBindVertexArray(0);
  glBindBuffer(GL_ARRAY_BUFFER, 0);
}

}  // namespace reread::viewer
