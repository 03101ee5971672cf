// Reading back what was drawn: the default framebuffer's back buffer as sRGB-encoded RGB, and writing it
// as a PNG (for --screenshot).
#pragma once

#include <filesystem>

#include "gl_tile_program.h"
#include "rgb_image.h"

namespace reread::viewer {

// The bound default framebuffer's `viewport`, top row first. Throws GlError.
RgbImage read_framebuffer(const GlViewport& viewport);

// Writes `image` as PNG under a temporary name, then renames it. Throws std::runtime_error naming the file.
void write_png(const std::filesystem::path& path, const RgbImage& image);

}  // namespace reread::viewer
