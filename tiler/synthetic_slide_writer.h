// Writes a synthetic H&E slide as an Aperio SVS (BigTIFF): pyramid, thumbnail, label, macro.
#pragma once

#include <filesystem>

#include "dzi_writer.h"
#include "pyramid_streamer.h"
#include "synthetic_tissue.h"

namespace reread {

struct SyntheticSlideOptions {
  SyntheticSlideSpec spec;
  int quality = 80;
  int tile_size = 256;
  int jobs = 2;
};

// Same options, same bytes. Memory stays bounded whatever the size. Throws SlideError.
PyramidStreamTimes write_synthetic_slide(const std::filesystem::path& out, const SyntheticSlideOptions& options,
                                         const Progress& progress = {});

}  // namespace reread
