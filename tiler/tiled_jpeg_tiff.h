// Direct access to the JPEG tiles of a tiled TIFF (Aperio SVS, generic tiled TIFF, Reread's own
// pyramids): raw tile bytes with the file's JPEG tables merged in, and regions decoded straight to
// RGB with TurboJPEG. Levels stored as 8-bit 3-channel JPEG tiles qualify; others stay with OpenSlide.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "deepzoom_geometry.h"

namespace reread {

class TiledJpegTiff {
 public:
  struct Level {
    Size size;
    std::int64_t tile_width = 0, tile_height = 0;
    std::int64_t tiles_across = 0, tiles_down = 0;
    std::vector<std::uint64_t> offsets, byte_counts;
    std::vector<std::uint8_t> jpeg_tables;  // SOI..EOI, or empty
    bool rgb_samples = false;               // JPEG data holds RGB, not YCbCr (Aperio "JPEG/RGB" with photometric RGB)
  };

  // Indexes the TIFF directories that match `level_sizes` (OpenSlide's levels, in order). Returns
  // nullptr when the file is not a TIFF; levels that do not qualify are left out.
  static std::unique_ptr<TiledJpegTiff> open(const std::string& path, const std::vector<Size>& level_sizes);
  ~TiledJpegTiff();
  TiledJpegTiff(const TiledJpegTiff&) = delete;
  TiledJpegTiff& operator=(const TiledJpegTiff&) = delete;

  const Level* level(int index) const;
  // One stored tile as a complete, standalone JPEG stream (tables merged in; an Adobe marker added
  // where the samples are RGB, so any decoder, browsers included, gets the colours right); empty
  // when the tile is missing. Throws std::runtime_error.
  std::vector<std::uint8_t> raw_tile(int level, std::int64_t col, std::int64_t row) const;
  // Decodes [x, x+w) x [y, y+h) of `level` into RGB rows `stride` bytes apart; pixels outside the
  // level or in missing tiles get `background`. With `scale` 2, 4 or 8 the coordinates are in a grid
  // that many times coarser and the JPEG decoder does the reduction (DCT scaling); the tile size must
  // divide by it. Thread-safe. Throws std::runtime_error.
  void read_region(int level, std::int64_t x, std::int64_t y, int w, int h, std::uint8_t* rgb, std::size_t stride,
                   const std::uint8_t background[3], int scale = 1) const;

 private:
  TiledJpegTiff() = default;
  int fd_ = -1;
  std::string path_;
  std::vector<std::optional<Level>> levels_;
};

}  // namespace reread
