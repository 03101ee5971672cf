// Writes tiled, JPEG-compressed, pyramidal BigTIFF files with libtiff: generic pyramids that
// OpenSlide, vips and IIPImage read, and Aperio SVS layout (levels, thumbnail, label, macro).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "deepzoom_geometry.h"
#include "dzi_writer.h"
#include "pyramid_streamer.h"
#include "rgb_image.h"
#include "work_pool.h"

namespace reread {

struct NamedImage {
  std::string name;  // "label", "macro"
  RgbImage image;
};

struct AperioDescription {
  std::optional<double> app_mag;  // objective power
  std::string scanner_id = "REREAD-SYNTH";
  std::string filename;
  std::string date = "01/01/26";
  std::string time = "00:00:00";
};

struct TiffPyramidOptions {
  int tile_size = 256;
  int quality = 75;
  int level_step = 1;  // halvings between stored levels: 1 = 2x pyramid, 2 = 4x (Aperio style)
  std::optional<double> mpp_x, mpp_y;
  // When set, the file follows the Aperio SVS layout and carries these properties: OpenSlide takes
  // MPP and objective power from an Aperio description, not from TIFF resolution tags.
  std::optional<AperioDescription> aperio;
  int thumbnail_max = 1024;  // Aperio thumbnail's long side
};

// Called once the pixels are all through, with a downsampled overview of the whole image, to
// make the associated images (Aperio only).
using MakeAssociated = std::function<std::vector<NamedImage>(const RgbImage& overview)>;

// Streams `produce`'s rows of a `base`-sized image into `out`. The file appears only when
// complete. Throws SlideError.
PyramidStreamTimes write_tiff_pyramid(Size base, const PyramidStreamer::Produce& produce, WorkPool& pool,
                                      const std::filesystem::path& out, const TiffPyramidOptions& options,
                                      const MakeAssociated& make_associated = {}, const Progress& progress = {});

}  // namespace reread
