// OpenSlide-backed SlideSource with a pool of handles. OpenSlide's errors are sticky: a handle
// that reported one is closed and never handed out again.
#pragma once

#include <mutex>
#include <vector>

#include "slide_source.h"
#include "tiled_jpeg_tiff.h"

typedef struct _openslide openslide_t;

namespace reread {

class OpenSlideSource final : public SlideSource {
 public:
  // With `direct_tiles`, levels stored as YCbCr JPEG tiles in a TIFF are decoded straight from the
  // file (same pixels, several times faster than OpenSlide's compositing); the rest through OpenSlide.
  explicit OpenSlideSource(std::string path, bool direct_tiles = true, std::size_t max_idle_handles = 8);
  ~OpenSlideSource() override;
  OpenSlideSource(const OpenSlideSource&) = delete;
  OpenSlideSource& operator=(const OpenSlideSource&) = delete;

  const SlideInfo& info() const override { return info_; }
  RgbImage read_region(std::int64_t x0, std::int64_t y0, int level, int width, int height) const override;
  void read_region_into(std::int64_t x0, std::int64_t y0, int level, int width, int height, std::uint8_t* rgb,
                        std::size_t stride) const override;
  bool read_region_dct_scaled(std::int64_t x0, std::int64_t y0, int level, int scale, int width, int height,
                              std::uint8_t* rgb, std::size_t stride) const override;
  RgbImage associated_image(const std::string& name) const override;
  // The stored JPEG tiles of a TIFF-based slide, when it has any; null otherwise.
  const TiledJpegTiff* stored_tiles() const { return direct_.get(); }

 private:
  struct HandleCloser {
    void operator()(openslide_t* h) const;
  };
  using Handle = std::unique_ptr<openslide_t, HandleCloser>;
  class Lease;

  void check_region(int level, int width, int height) const;
  Handle open_handle() const;
  Handle acquire() const;
  void release(Handle h) const;
  // Throws if `h` has an error, closing it; returns it otherwise.
  Handle checked(Handle h, const std::string& operation) const;

  std::string path_;
  std::size_t max_idle_;
  SlideInfo info_;
  std::unique_ptr<TiledJpegTiff> direct_;
  mutable std::mutex mutex_;  // guards idle_
  mutable std::vector<Handle> idle_;
};

}  // namespace reread
