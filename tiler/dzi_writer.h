// Writes a slide as a DeepZoom image: NAME.dzi and NAME_files/LEVEL/COL_ROW.EXT, the layout
// OpenSeadragon reads and `vips dzsave` writes, with DeepZoomGenerator's geometry.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "deepzoom_geometry.h"
#include "image_codec.h"
#include "pyramid_streamer.h"
#include "slide_source.h"

namespace reread {

struct DziOptions {
  DeepZoomOptions geometry;
  TileFormat format = TileFormat::jpeg;
  int quality = 75;
  int jobs = 2;
};

using Progress = std::function<void(std::int64_t done, std::int64_t total)>;

// Streams level 0 once, building coarser levels by 2x2 averaging in bounded memory. The output
// appears only when complete; on failure nothing is left behind. Returns where the time went.
// Throws SlideError.
PyramidStreamTimes write_dzi(const SlideSource& slide, const std::filesystem::path& out_dir, const std::string& name,
                             const DziOptions& options, const Progress& progress = {});

}  // namespace reread
