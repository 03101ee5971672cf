// The TIFF directory index is read once with libtiff; tiles are then read with pread on one file
// descriptor, so any number of threads read at once without TIFF handles or directory switches.
#include "tiled_jpeg_tiff.h"

#include <fcntl.h>
#include <tiffio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "image_codec.h"

namespace reread {

namespace {

struct TiffCloser {
  void operator()(TIFF* t) const {
    if (t != nullptr) TIFFClose(t);
  }
};

void quiet_handler(const char*, const char*, va_list) {}

std::optional<TiledJpegTiff::Level> read_level(TIFF* tif) {
  if (!TIFFIsTiled(tif)) return std::nullopt;
  std::uint16_t compression = 0, photometric = 0, bits = 0, samples = 0, planar = PLANARCONFIG_CONTIG;
  TIFFGetField(tif, TIFFTAG_COMPRESSION, &compression);
  TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric);
  TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bits);
  TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &samples);
  TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar);
  if (compression != COMPRESSION_JPEG || (photometric != PHOTOMETRIC_YCBCR && photometric != PHOTOMETRIC_RGB) ||
      bits != 8 || samples != 3 || planar != PLANARCONFIG_CONTIG) {
    return std::nullopt;
  }
  std::uint32_t w = 0, h = 0, tw = 0, th = 0;
  TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
  TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
  TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tw);
  TIFFGetField(tif, TIFFTAG_TILELENGTH, &th);
  if (w == 0 || h == 0 || tw == 0 || th == 0 || tw % 8 != 0 || th % 8 != 0) return std::nullopt;
  TiledJpegTiff::Level level;
  level.rgb_samples = photometric == PHOTOMETRIC_RGB;
  level.size = {w, h};
  level.tile_width = tw;
  level.tile_height = th;
  level.tiles_across = (w + tw - 1) / tw;
  level.tiles_down = (h + th - 1) / th;
  const auto n = static_cast<std::size_t>(level.tiles_across * level.tiles_down);
  if (TIFFNumberOfTiles(tif) != n) return std::nullopt;
  std::uint64_t* offsets = nullptr;
  std::uint64_t* counts = nullptr;
  if (!TIFFGetField(tif, TIFFTAG_TILEOFFSETS, &offsets) || !TIFFGetField(tif, TIFFTAG_TILEBYTECOUNTS, &counts) ||
      offsets == nullptr || counts == nullptr) {
    return std::nullopt;
  }
  level.offsets.assign(offsets, offsets + n);
  level.byte_counts.assign(counts, counts + n);
  std::uint32_t table_len = 0;
  void* tables = nullptr;
  if (TIFFGetField(tif, TIFFTAG_JPEGTABLES, &table_len, &tables) && tables != nullptr && table_len >= 4) {
    const auto* t = static_cast<const std::uint8_t*>(tables);
    level.jpeg_tables.assign(t, t + table_len);
  }
  return level;
}

}  // namespace

std::unique_ptr<TiledJpegTiff> TiledJpegTiff::open(const std::string& path, const std::vector<Size>& level_sizes) {
  TIFFErrorHandler old_error = TIFFSetErrorHandler(quiet_handler);
  TIFFErrorHandler old_warning = TIFFSetWarningHandler(quiet_handler);
  std::unique_ptr<TIFF, TiffCloser> tif(TIFFOpen(path.c_str(), "rm"));
  std::unique_ptr<TiledJpegTiff> out;
  if (tif) {
    out.reset(new TiledJpegTiff());
    out->path_ = path;
    out->levels_.resize(level_sizes.size());
    std::size_t next = 0;
    do {
      if (next >= level_sizes.size()) break;
      auto level = read_level(tif.get());
      if (!TIFFIsTiled(tif.get())) continue;
      std::uint32_t w = 0, h = 0;
      TIFFGetField(tif.get(), TIFFTAG_IMAGEWIDTH, &w);
      TIFFGetField(tif.get(), TIFFTAG_IMAGELENGTH, &h);
      if (Size{w, h} != level_sizes[next]) continue;
      out->levels_[next++] = std::move(level);
    } while (TIFFReadDirectory(tif.get()));
  }
  TIFFSetErrorHandler(old_error);
  TIFFSetWarningHandler(old_warning);
  if (!out) return nullptr;
  out->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (out->fd_ < 0) return nullptr;
  return out;
}

TiledJpegTiff::~TiledJpegTiff() {
  if (fd_ >= 0) ::close(fd_);
}

const TiledJpegTiff::Level* TiledJpegTiff::level(int index) const {
  if (index < 0 || index >= static_cast<int>(levels_.size()) || !levels_[index]) return nullptr;
  return &*levels_[index];
}

std::vector<std::uint8_t> TiledJpegTiff::raw_tile(int level_index, std::int64_t col, std::int64_t row) const {
  const Level* lv = level(level_index);
  if (lv == nullptr || col < 0 || row < 0 || col >= lv->tiles_across || row >= lv->tiles_down) {
    throw std::runtime_error("no stored JPEG tile " + std::to_string(col) + "," + std::to_string(row) + " at level " +
                             std::to_string(level_index));
  }
  const auto i = static_cast<std::size_t>(row * lv->tiles_across + col);
  const std::uint64_t count = lv->byte_counts[i];
  if (count == 0) return {};
  if (count > (64u << 20)) throw std::runtime_error("tile of implausible size");
  std::vector<std::uint8_t> data;
  // Tables without their EOI, then the tile without its SOI: one complete stream.
  const bool merge = lv->jpeg_tables.size() >= 4;
  const std::size_t head = merge ? lv->jpeg_tables.size() - 2 : 0;
  data.resize(head + count);
  if (merge) std::memcpy(data.data(), lv->jpeg_tables.data(), head);
  std::size_t done = 0;
  while (done < count) {
    const ssize_t n = ::pread(fd_, data.data() + head + done, count - done, static_cast<off_t>(lv->offsets[i] + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw std::runtime_error(std::string("read tile: ") + (n == 0 ? "file truncated" : std::strerror(errno)));
    done += static_cast<std::size_t>(n);
  }
  if (merge) {
    if (count < 2 || data[head] != 0xFF || data[head + 1] != 0xD8) throw std::runtime_error("tile is not JPEG");
    data.erase(data.begin() + static_cast<std::ptrdiff_t>(head), data.begin() + static_cast<std::ptrdiff_t>(head + 2));
  }
  if (lv->rgb_samples) {
    // APP14 "Adobe", version 100, flags 0, transform 0: the components are RGB.
    static constexpr std::uint8_t kAdobeRgb[] = {0xFF, 0xEE, 0x00, 0x0E, 'A',  'd',  'o',  'b',
                                                 'e',  0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00};
    data.insert(data.begin() + 2, std::begin(kAdobeRgb), std::end(kAdobeRgb));
  }
  return data;
}

void TiledJpegTiff::read_region(int level_index, std::int64_t x, std::int64_t y, int w, int h, std::uint8_t* rgb,
                                std::size_t stride, const std::uint8_t background[3], int scale) const {
  const Level* lv = level(level_index);
  if (lv == nullptr) throw std::runtime_error("level " + std::to_string(level_index) + " is not stored as JPEG tiles");
  if (scale < 1 || lv->tile_width % scale != 0 || lv->tile_height % scale != 0) {
    throw std::runtime_error("scale " + std::to_string(scale) + " does not divide the tile size");
  }
  // Everything below works in the (possibly DCT-scaled) grid.
  const std::int64_t tw = lv->tile_width / scale, th = lv->tile_height / scale;
  const std::int64_t lw = (lv->size.width + scale - 1) / scale, lh = (lv->size.height + scale - 1) / scale;
  // Background wherever no tile paints.
  for (int r = 0; r < h; ++r) {
    std::uint8_t* p = rgb + stride * static_cast<std::size_t>(r);
    for (int c = 0; c < w; ++c, p += 3) std::memcpy(p, background, 3);
  }
  const std::int64_t x0 = std::max<std::int64_t>(x, 0), y0 = std::max<std::int64_t>(y, 0);
  const std::int64_t x1 = std::min<std::int64_t>(x + w, lw), y1 = std::min<std::int64_t>(y + h, lh);
  if (x0 >= x1 || y0 >= y1) return;
  thread_local std::vector<std::uint8_t> scratch;
  for (std::int64_t ty = y0 / th; ty <= (y1 - 1) / th; ++ty) {
    for (std::int64_t tx = x0 / tw; tx <= (x1 - 1) / tw; ++tx) {
      const std::vector<std::uint8_t> jpeg = raw_tile(level_index, tx, ty);
      if (jpeg.empty()) continue;
      const std::int64_t tile_x = tx * tw, tile_y = ty * th;
      // The part of this tile inside both the request and the level.
      const std::int64_t cx0 = std::max(x0, tile_x), cy0 = std::max(y0, tile_y);
      const std::int64_t cx1 = std::min(x1, tile_x + tw), cy1 = std::min(y1, tile_y + th);
      const bool whole = cx0 == tile_x && cy0 == tile_y && cx1 == tile_x + tw && cy1 == tile_y + th;
      std::uint8_t* target = nullptr;
      std::size_t pitch = 0;
      if (whole) {
        target = rgb + stride * static_cast<std::size_t>(tile_y - y) + static_cast<std::size_t>(tile_x - x) * 3;
        pitch = stride;
      } else {
        scratch.resize(static_cast<std::size_t>(tw * th * 3));
        target = scratch.data();
        pitch = static_cast<std::size_t>(tw) * 3;
      }
      try {
        decode_jpeg_into(jpeg, static_cast<int>(lv->tile_width), static_cast<int>(lv->tile_height), target, pitch,
                         scale);
      } catch (const std::exception& e) {
        throw std::runtime_error("tile " + std::to_string(tx) + "," + std::to_string(ty) + " at level " +
                                 std::to_string(level_index) + ": " + e.what());
      }
      if (!whole) {
        for (std::int64_t r = cy0; r < cy1; ++r) {
          std::memcpy(rgb + stride * static_cast<std::size_t>(r - y) + static_cast<std::size_t>(cx0 - x) * 3,
                      scratch.data() + pitch * static_cast<std::size_t>(r - tile_y) +
                          static_cast<std::size_t>(cx0 - tile_x) * 3,
                      static_cast<std::size_t>(cx1 - cx0) * 3);
        }
      }
    }
  }
}

}  // namespace reread
