// glReadPixels of the back buffer, flipped to top-down rows, and PNG files through the tiler's encoder.
#include "gl_capture.h"

#include <cstring>
#include <fstream>
#include <string>
#include <system_error>

#include "image_codec.h"

namespace reread::viewer {

RgbImage read_framebuffer(const GlViewport& viewport) {
  RgbImage image(viewport.width, viewport.height);
  if (image.empty()) return image;
  glBindFramebuffer(GL_READ_FRAMEBUFFER, 0);
  glReadBuffer(GL_BACK);
  // The stored (sRGB-encoded) values, unconverted.
  glDisable(GL_FRAMEBUFFER_SRGB);
  glPixelStorei(GL_PACK_ALIGNMENT, 1);
  glPixelStorei(GL_PACK_ROW_LENGTH, 0);
  RgbImage bottom_up(viewport.width, viewport.height);
  glReadPixels(viewport.x, viewport.y, viewport.width, viewport.height, GL_RGB, GL_UNSIGNED_BYTE,
               bottom_up.pixels.data());
  if (const GLenum error = glGetError(); error != GL_NO_ERROR) {
    throw GlError("reading the framebuffer back: GL error " + std::to_string(error));
  }
  for (int y = 0; y < image.height; ++y) std::memcpy(image.row(y), bottom_up.row(image.height - 1 - y), image.stride());
  return image;
}

void write_png(const std::filesystem::path& path, const RgbImage& image) {
  const std::vector<std::uint8_t> png = encode_png(image.pixels.data(), image.width, image.height, image.stride());
  std::filesystem::path partial = path;
  partial += ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
    if (!out) throw std::runtime_error(path.string() + ": cannot write the screenshot");
  }
  std::error_code ec;
  std::filesystem::rename(partial, path, ec);
  if (ec) {
    std::filesystem::remove(partial, ec);
    throw std::runtime_error(path.string() + ": cannot write the screenshot: " + ec.message());
  }
}

}  // namespace reread::viewer
