// Slide access through OpenSlide: metadata, regions composited to RGB, associated images.
#include "openslide_source.h"

#include <openslide/openslide.h>

#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>

#include "slide_error.h"

namespace reread {

namespace {

constexpr std::int64_t kMaxRegionPixels = std::int64_t{1} << 28;  // 1 GiB of ARGB

std::optional<double> parse_double(const std::map<std::string, std::string>& props, const char* key) {
  const auto it = props.find(key);
  if (it == props.end()) return std::nullopt;
  try {
    std::size_t used = 0;
    const double v = std::stod(it->second, &used);
    if (used == 0 || !std::isfinite(v)) return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<std::int64_t> parse_int(const std::map<std::string, std::string>& props, const char* key) {
  const auto it = props.find(key);
  if (it == props.end()) return std::nullopt;
  std::int64_t v = 0;
  const char* first = it->second.data();
  const char* last = first + it->second.size();
  const auto [ptr, ec] = std::from_chars(first, last, v);
  if (ec != std::errc() || ptr != last) return std::nullopt;
  return v;
}

// Premultiplied ARGB (as OpenSlide returns it) composited over an opaque background.
void argb_to_rgb(const std::uint32_t* src, int n, const std::array<std::uint8_t, 3>& bg, std::uint8_t* dst) {
  for (int i = 0; i < n; ++i) {
    const std::uint32_t p = src[i];
    const std::uint32_t a = p >> 24;
    std::uint32_t r = (p >> 16) & 0xff, g = (p >> 8) & 0xff, b = p & 0xff;
    if (a != 255) {
      const std::uint32_t t = 255 - a;
      r += (bg[0] * t + 127) / 255;
      g += (bg[1] * t + 127) / 255;
      b += (bg[2] * t + 127) / 255;
    }
    dst[0] = static_cast<std::uint8_t>(r > 255 ? 255 : r);
    dst[1] = static_cast<std::uint8_t>(g > 255 ? 255 : g);
    dst[2] = static_cast<std::uint8_t>(b > 255 ? 255 : b);
    dst += 3;
  }
}

std::array<std::uint8_t, 3> parse_background(const std::map<std::string, std::string>& props) {
  const auto it = props.find(OPENSLIDE_PROPERTY_NAME_BACKGROUND_COLOR);
  if (it == props.end() || it->second.size() != 6) return {255, 255, 255};
  unsigned v = 0;
  const auto [ptr, ec] = std::from_chars(it->second.data(), it->second.data() + 6, v, 16);
  if (ec != std::errc() || ptr != it->second.data() + 6) return {255, 255, 255};
  return {static_cast<std::uint8_t>(v >> 16), static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
}

}  // namespace

void OpenSlideSource::HandleCloser::operator()(openslide_t* h) const {
  if (h != nullptr) openslide_close(h);
}

// Borrows a handle for one operation; a handle that failed is dropped, not returned.
class OpenSlideSource::Lease {
 public:
  explicit Lease(const OpenSlideSource& src) : src_(src), h_(src.acquire()) {}
  ~Lease() {
    if (h_) src_.release(std::move(h_));
  }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  openslide_t* get() const { return h_.get(); }
  void check(const std::string& operation) { h_ = src_.checked(std::move(h_), operation); }

 private:
  const OpenSlideSource& src_;
  Handle h_;
};

OpenSlideSource::Handle OpenSlideSource::open_handle() const {
  std::error_code ec;
  if (!std::filesystem::exists(path_, ec)) throw SlideError(path_, "open", "no such file");
  if (std::filesystem::is_directory(path_, ec)) throw SlideError(path_, "open", "is a directory");
  if (openslide_detect_vendor(path_.c_str()) == nullptr) {
    throw SlideError(path_, "open", "unsupported format: not a slide OpenSlide can read");
  }
  Handle h(openslide_open(path_.c_str()));
  if (!h) throw SlideError(path_, "open", "unsupported format: not a slide OpenSlide can read");
  return checked(std::move(h), "open");
}

OpenSlideSource::Handle OpenSlideSource::checked(Handle h, const std::string& operation) const {
  if (const char* err = openslide_get_error(h.get()); err != nullptr) {
    std::string cause = err;
    h.reset();  // sticky error: this handle is retired
    throw SlideError(path_, operation, cause);
  }
  return h;
}

OpenSlideSource::Handle OpenSlideSource::acquire() const {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      Handle h = std::move(idle_.back());
      idle_.pop_back();
      return h;
    }
  }
  return open_handle();
}

void OpenSlideSource::release(Handle h) const {
  std::lock_guard lock(mutex_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(h));
}

OpenSlideSource::OpenSlideSource(std::string path, bool direct_tiles, std::size_t max_idle_handles)
    : path_(std::move(path)), max_idle_(std::max<std::size_t>(1, max_idle_handles)) {
  Lease lease(*this);
  openslide_t* osr = lease.get();
  info_.path = path_;
  if (const char* v = openslide_detect_vendor(path_.c_str())) info_.vendor = v;

  const char* const* names = openslide_get_property_names(osr);
  for (; names != nullptr && *names != nullptr; ++names) {
    const char* value = openslide_get_property_value(osr, *names);
    info_.properties[*names] = value != nullptr ? value : "";
  }
  const int levels = openslide_get_level_count(osr);
  lease.check("read levels");
  if (levels < 1) throw SlideError(path_, "open", "slide has no levels");
  for (int i = 0; i < levels; ++i) {
    std::int64_t w = 0, h = 0;
    openslide_get_level_dimensions(osr, i, &w, &h);
    info_.level_dimensions.push_back({w, h});
    info_.level_downsamples.push_back(openslide_get_level_downsample(osr, i));
  }
  lease.check("read levels");

  const auto& p = info_.properties;
  info_.mpp_x = parse_double(p, OPENSLIDE_PROPERTY_NAME_MPP_X);
  info_.mpp_y = parse_double(p, OPENSLIDE_PROPERTY_NAME_MPP_Y);
  info_.objective_power = parse_double(p, OPENSLIDE_PROPERTY_NAME_OBJECTIVE_POWER);
  info_.bounds_x = parse_int(p, OPENSLIDE_PROPERTY_NAME_BOUNDS_X);
  info_.bounds_y = parse_int(p, OPENSLIDE_PROPERTY_NAME_BOUNDS_Y);
  info_.bounds_width = parse_int(p, OPENSLIDE_PROPERTY_NAME_BOUNDS_WIDTH);
  info_.bounds_height = parse_int(p, OPENSLIDE_PROPERTY_NAME_BOUNDS_HEIGHT);
  info_.background = parse_background(p);
  if (const auto it = p.find(OPENSLIDE_PROPERTY_NAME_QUICKHASH1); it != p.end()) info_.quickhash = it->second;

  const char* const* assoc = openslide_get_associated_image_names(osr);
  for (; assoc != nullptr && *assoc != nullptr; ++assoc) {
    std::int64_t w = 0, h = 0;
    openslide_get_associated_image_dimensions(osr, *assoc, &w, &h);
    info_.associated_images.push_back({*assoc, w, h});
  }
  lease.check("read associated images");
  if (direct_tiles && (info_.vendor == "aperio" || info_.vendor == "generic-tiff")) {
    direct_ = TiledJpegTiff::open(path_, info_.level_dimensions);
  }
}

OpenSlideSource::~OpenSlideSource() = default;

void OpenSlideSource::check_region(int level, int width, int height) const {
  if (level < 0 || level >= info_.level_count()) {
    throw SlideError(path_, "read region", "level " + std::to_string(level) + " does not exist");
  }
  if (width < 0 || height < 0 || std::int64_t{width} * height > kMaxRegionPixels) {
    throw SlideError(path_, "read region",
                     "invalid region size " + std::to_string(width) + "x" + std::to_string(height));
  }
}

RgbImage OpenSlideSource::read_region(std::int64_t x0, std::int64_t y0, int level, int width, int height) const {
  check_region(level, width, height);
  RgbImage img(std::max(width, 0), std::max(height, 0));
  read_region_into(x0, y0, level, width, height, img.pixels.data(), img.stride());
  return img;
}

void OpenSlideSource::read_region_into(std::int64_t x0, std::int64_t y0, int level, int width, int height,
                                       std::uint8_t* rgb, std::size_t stride) const {
  check_region(level, width, height);
  if (width == 0 || height == 0) return;
  if (direct_ && direct_->level(level) != nullptr) {
    // Only where the level-0 origin falls on a whole pixel of the level's grid (OpenSlide would shift by
    // a fraction otherwise). On levels whose rounded size makes the reported downsample slightly off a
    // whole factor, the grid is the whole factor: OpenSlide's fractional shift there is an artefact of
    // the rounding, which it pays for with interpolation.
    const double ds = info_.grid_downsample(level);
    const double lx = static_cast<double>(x0) / ds, ly = static_cast<double>(y0) / ds;
    if (lx == std::floor(lx) && ly == std::floor(ly)) {
      try {
        direct_->read_region(level, static_cast<std::int64_t>(lx), static_cast<std::int64_t>(ly), width, height, rgb,
                             stride, info_.background.data());
        return;
      } catch (const std::exception& e) {
        throw SlideError(
            path_, "read region (" + std::to_string(x0) + "," + std::to_string(y0) + ") level " + std::to_string(level),
            e.what());
      }
    }
  }
  thread_local std::vector<std::uint32_t> argb;
  argb.resize(static_cast<std::size_t>(width) * height);
  {
    Lease lease(*this);
    openslide_read_region(lease.get(), argb.data(), x0, y0, level, width, height);
    lease.check("read region (" + std::to_string(x0) + "," + std::to_string(y0) + ") level " + std::to_string(level) +
                " " + std::to_string(width) + "x" + std::to_string(height));
  }
  for (int y = 0; y < height; ++y) {
    argb_to_rgb(argb.data() + static_cast<std::size_t>(y) * width, width, info_.background, rgb + stride * y);
  }
  if (argb.size() > (std::size_t{1} << 22)) argb = {};  // do not pin huge buffers per thread
}

bool OpenSlideSource::read_region_dct_scaled(std::int64_t x0, std::int64_t y0, int level, int scale, int width,
                                             int height, std::uint8_t* rgb, std::size_t stride) const {
  check_region(level, width, height);
  const TiledJpegTiff::Level* lv = direct_ ? direct_->level(level) : nullptr;
  if (lv == nullptr || (scale != 2 && scale != 4 && scale != 8) || lv->tile_width % scale != 0 ||
      lv->tile_height % scale != 0) {
    return false;
  }
  // The origin must fall on the scaled grid, or the result would be shifted by a fraction of a pixel.
  const double ds = info_.grid_downsample(level);
  const double lx = static_cast<double>(x0) / ds, ly = static_cast<double>(y0) / ds;
  if (lx != std::floor(lx) || ly != std::floor(ly)) return false;
  const auto ix = static_cast<std::int64_t>(lx), iy = static_cast<std::int64_t>(ly);
  if (ix % scale != 0 || iy % scale != 0) return false;
  try {
    direct_->read_region(level, ix / scale, iy / scale, width, height, rgb, stride, info_.background.data(), scale);
  } catch (const std::exception& e) {
    throw SlideError(path_,
                     "read region (" + std::to_string(x0) + "," + std::to_string(y0) + ") level " +
                         std::to_string(level) + " at 1/" + std::to_string(scale),
                     e.what());
  }
  return true;
}

RgbImage OpenSlideSource::associated_image(const std::string& name) const {
  Lease lease(*this);
  std::int64_t w = -1, h = -1;
  openslide_get_associated_image_dimensions(lease.get(), name.c_str(), &w, &h);
  lease.check("read associated image " + name);
  if (w < 0 || h < 0) throw SlideError(path_, "read associated image", "no associated image named '" + name + "'");
  if (w * h > kMaxRegionPixels) throw SlideError(path_, "read associated image", name + " is too large");
  std::vector<std::uint32_t> argb(static_cast<std::size_t>(w * h));
  openslide_read_associated_image(lease.get(), name.c_str(), argb.data());
  lease.check("read associated image " + name);
  RgbImage img(static_cast<int>(w), static_cast<int>(h));
  argb_to_rgb(argb.data(), static_cast<int>(w * h), {255, 255, 255}, img.pixels.data());
  return img;
}

std::unique_ptr<SlideSource> open_slide(const std::string& path) { return std::make_unique<OpenSlideSource>(path); }

}  // namespace reread
