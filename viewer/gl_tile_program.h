// The tile shader program and its vertex stream: draws textured quads given in level-0 pixels through a
// camera, with brightness, contrast and gamma applied in linear light, into the bound viewport.
#pragma once

#include <vector>

#include "camera.h"
#include "gl_objects.h"

namespace reread::viewer {

// Display adjustments, applied in the fragment shader in linear light.
struct DisplayAdjustments {
  float brightness = 0.0f;  // -1..1, 0 unchanged
  float contrast = 1.0f;    // 0..4, 1 unchanged
  float gamma = 1.0f;       // 0.2..5, 1 unchanged
  friend bool operator==(const DisplayAdjustments&, const DisplayAdjustments&) = default;
};

// A rectangle of the default framebuffer in GL's convention (origin bottom-left), in pixels.
struct GlViewport {
  int x = 0, y = 0, width = 0, height = 0;
};

struct TileQuad {
  GLuint texture = 0;
  Rect dest;                             // level-0 pixels
  float u0 = 0, v0 = 0, u1 = 1, v1 = 1;  // the texture's part that covers `dest`
};

class GlTileProgram {
 public:
  // Compiles the embedded shaders; needs a current OpenGL 3.3 core context. Throws GlError.
  GlTileProgram();

  // Whether the default framebuffer encodes sRGB itself (else the shader encodes).
  bool framebuffer_srgb() const { return framebuffer_srgb_; }

  // Draws `quads` in order (later over earlier) into `viewport`, clipped to it, as `camera` sees them.
  void draw(const std::vector<TileQuad>& quads, const Camera& camera, const GlViewport& viewport,
            const DisplayAdjustments& adjustments);

 private:
  GlProgram program_;
  GlVertexArray vertex_array_;
  GlBuffer vertex_buffer_;
  GLint slide_to_clip_ = -1, tile_ = -1, brightness_ = -1, contrast_ = -1, gamma_ = -1, framebuffer_srgb_uniform_ = -1;
  bool framebuffer_srgb_ = false;
  std::vector<float> vertices_;  // reused between draws
};

}  // namespace reread::viewer
