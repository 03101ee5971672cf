// Draws annotation outlines (AnnotationOutlines) through a camera: one vertex buffer, uploaded when the
// outlines change, and per frame one multi-draw of the strips in view at the level of detail the zoom needs.
#pragma once

#include <cstdint>
#include <vector>

#include "annotation_outlines.h"
#include "camera.h"
#include "gl_objects.h"
#include "gl_tile_program.h"

namespace reread::viewer {

class GlAnnotationRenderer {
 public:
  // Compiles the embedded shaders; needs a current OpenGL 3.3 core context. Throws GlError.
  GlAnnotationRenderer();

  // Draws `ranges` (strips of `outlines`) into `viewport` as `camera` sees them, two pixels wide.
  void draw(const AnnotationOutlines& outlines, const std::vector<OutlineRange>& ranges, const Camera& camera,
            const GlViewport& viewport);

 private:
  GlProgram program_;
  GlVertexArray vertex_array_;
  GlBuffer vertex_buffer_;
  GLint slide_to_clip_ = -1, shift_ = -1, pixel_offset_ = -1;
  std::uint64_t uploaded_generation_ = 0;
  const AnnotationOutlines* uploaded_from_ = nullptr;
  std::vector<GLint> firsts_;
  std::vector<GLsizei> counts_;
};

}  // namespace reread::viewer
